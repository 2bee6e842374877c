"""Metrics (registered into ``mmseg.registry.METRICS``)."""
from .foreground_metric import TASK_METRICS, ForegroundMetric
from .foreground_stats import METRIC_NAMES, ForegroundImageEvaluator, ForegroundStats

__all__ = ['ForegroundMetric', 'ForegroundStats', 'ForegroundImageEvaluator', 'METRIC_NAMES', 'TASK_METRICS']
