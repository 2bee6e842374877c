from .focus_optim_wrapper_constructor import NORM_LAYERS, FocusOptimWrapperConstructor

__all__ = ['FocusOptimWrapperConstructor', 'NORM_LAYERS']
