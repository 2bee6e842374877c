"""Public Python API: inference and checkpoint helpers."""
from .checkpoint import load_model_checkpoint
from .export import LogitsExportWrapper, export_torchscript
from .inferencer import FocusInferencer, ForegroundPrediction, read_image
from .task_selection import set_inference_task

__all__ = [
    'FocusInferencer', 'ForegroundPrediction', 'LogitsExportWrapper', 'export_torchscript', 'load_model_checkpoint',
    'read_image', 'set_inference_task'
]
