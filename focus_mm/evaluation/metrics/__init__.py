"""Metrics (registered into ``mmseg.registry.METRICS``)."""
from .foreground_metric import TASK_METRICS, ForegroundMetric
from .foreground_stats import METRIC_NAMES, ForegroundImageEvaluator, ForegroundStats
from .multi_task_metric import MultiTaskForegroundMetric

__all__ = [
    'ForegroundMetric', 'MultiTaskForegroundMetric', 'ForegroundStats', 'ForegroundImageEvaluator',
    'METRIC_NAMES', 'TASK_METRICS'
]
