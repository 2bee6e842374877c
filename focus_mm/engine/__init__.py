"""Runner hooks (``mmseg.registry.HOOKS``) and the optimiser wrapper constructor
(``mmseg.registry.OPTIM_WRAPPER_CONSTRUCTORS``)."""
from .hooks import SaveForegroundPredictionsHook
from .optimizers import FocusOptimWrapperConstructor

__all__ = ['SaveForegroundPredictionsHook', 'FocusOptimWrapperConstructor']
