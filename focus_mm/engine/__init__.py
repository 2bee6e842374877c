"""Runner hooks (``mmseg.registry.HOOKS``), the optimiser wrapper constructor
(``mmseg.registry.OPTIM_WRAPPER_CONSTRUCTORS``), the checkpoint loaders of every mmengine scheme and the
CPU distributed wrapper (mmengine's ``MODEL_WRAPPERS``)."""
from . import checkpoint_loaders  # noqa: F401  (registers the safe loader for every checkpoint scheme)
from .cpu_distributed import CPUDistributedDataParallel, configure_cpu_launcher
from .hooks import NonFiniteLossError, NonFiniteLossHook, SaveForegroundPredictionsHook, TaskListHook
from .optimizers import FocusOptimWrapperConstructor

__all__ = [
    'CPUDistributedDataParallel', 'NonFiniteLossError', 'NonFiniteLossHook', 'SaveForegroundPredictionsHook',
    'TaskListHook', 'FocusOptimWrapperConstructor', 'configure_cpu_launcher'
]
