"""Runner hooks (registered into ``mmseg.registry.HOOKS``)."""
from .hooks import NonFiniteLossError, NonFiniteLossHook, SaveForegroundPredictionsHook

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook', 'SaveForegroundPredictionsHook']
