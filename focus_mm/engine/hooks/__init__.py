from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .save_predictions_hook import SaveForegroundPredictionsHook
from .task_list_hook import TaskListHook

__all__ = [
    'NonFiniteLossError', 'NonFiniteLossHook', 'SaveForegroundPredictionsHook', 'TaskListHook'
]
