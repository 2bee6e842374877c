from .save_predictions_hook import SaveForegroundPredictionsHook

__all__ = ['SaveForegroundPredictionsHook']
