"""Runner hooks (``mmseg.registry.HOOKS``) and the optimiser wrapper constructor
(``mmseg.registry.OPTIM_WRAPPER_CONSTRUCTORS``)."""
from .hooks import NonFiniteLossError, NonFiniteLossHook, SaveForegroundPredictionsHook, TaskListHook
from .optimizers import FocusOptimWrapperConstructor

__all__ = [
    'NonFiniteLossError', 'NonFiniteLossHook', 'SaveForegroundPredictionsHook', 'TaskListHook',
    'FocusOptimWrapperConstructor'
]
