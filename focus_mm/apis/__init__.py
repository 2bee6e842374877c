"""Public Python API: inference, export and checkpoint helpers."""
from .checkpoint import load_model_checkpoint
from .export import LogitsExportWrapper, OnnxExportWrapper, export_onnx, export_torchscript, onnx_parity
from .foreground_prediction import ForegroundPrediction, NonFiniteOutputError
from .inferencer import FocusInferencer, read_image
from .task_selection import set_inference_task

__all__ = [
    'FocusInferencer', 'ForegroundPrediction', 'LogitsExportWrapper', 'NonFiniteOutputError',
    'OnnxExportWrapper', 'export_onnx', 'export_torchscript', 'load_model_checkpoint', 'onnx_parity',
    'read_image', 'set_inference_task'
]
