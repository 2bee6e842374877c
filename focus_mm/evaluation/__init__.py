"""Evaluation metrics (registered into ``mmseg.registry.METRICS``)."""
from . import metrics  # noqa: F401
