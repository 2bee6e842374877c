"""Datasets and pipeline transforms (registered into ``mmseg.registry.DATASETS`` / ``TRANSFORMS``)."""
from . import transforms  # noqa: F401
from .foreground_dataset import ForegroundDataset
from .mini_bench_dataset import MiniBenchDataset

__all__ = ['ForegroundDataset', 'MiniBenchDataset']
