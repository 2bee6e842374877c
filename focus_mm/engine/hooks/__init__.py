from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .save_predictions_hook import SaveForegroundPredictionsHook

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook', 'SaveForegroundPredictionsHook']
