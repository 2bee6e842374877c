"""Runner hooks (registered into ``mmseg.registry.HOOKS``)."""
from .hooks import SaveForegroundPredictionsHook

__all__ = ['SaveForegroundPredictionsHook']
