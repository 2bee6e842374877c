"""Runner hooks (registered into ``mmseg.registry.HOOKS``)."""
from .hooks import SaveForegroundPredictionsHook, TaskListHook

__all__ = ['SaveForegroundPredictionsHook', 'TaskListHook']
