"""Runner hooks (registered into ``mmseg.registry.HOOKS``)."""
from .hooks import NonFiniteLossError, NonFiniteLossHook, SaveForegroundPredictionsHook, TaskListHook

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook', 'SaveForegroundPredictionsHook', 'TaskListHook']
