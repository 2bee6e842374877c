"""Public Python API: inference and checkpoint helpers."""
from .checkpoint import load_model_checkpoint

__all__ = ['load_model_checkpoint']
