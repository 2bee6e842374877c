"""Public Python API: inference and checkpoint helpers."""
from .checkpoint import load_model_checkpoint
from .inferencer import FocusInferencer, ForegroundPrediction, read_image

__all__ = ['FocusInferencer', 'ForegroundPrediction', 'load_model_checkpoint', 'read_image']
