"""focus_mm's registries: children of MMSegmentation's, under the scope ``focus_mm``.

Every component is registered in mmseg's registries, so that configs with ``default_scope='mmseg'``
name them. These children serve configs that inherit ours by package scope
(``_base_ = ['focus_mm::focus/<config>.py']``): mmengine tags the inherited dicts with
``_scope_='focus_mm'`` and, when it builds them, imports ``focus_mm.registry`` and looks for a registry of
that scope. A child holds nothing itself and finds every name in its parents (mmseg's, then mmcv's and
mmengine's), so such a config builds exactly what the same config with scope ``mmseg`` builds.
"""
from mmengine.registry import Registry

from mmseg import registry as _mmseg

# locations: importing focus_mm registers the components (in the parents).
_LOCATIONS = ['focus_mm']

HOOKS = Registry('hook', parent=_mmseg.HOOKS, scope='focus_mm', locations=_LOCATIONS)
DATASETS = Registry('dataset', parent=_mmseg.DATASETS, scope='focus_mm', locations=_LOCATIONS)
DATA_SAMPLERS = Registry('data sampler', parent=_mmseg.DATA_SAMPLERS, scope='focus_mm', locations=_LOCATIONS)
TRANSFORMS = Registry('transform', parent=_mmseg.TRANSFORMS, scope='focus_mm', locations=_LOCATIONS)
MODELS = Registry('model', parent=_mmseg.MODELS, scope='focus_mm', locations=_LOCATIONS)
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=_mmseg.WEIGHT_INITIALIZERS, scope='focus_mm',
                               locations=_LOCATIONS)
OPTIMIZERS = Registry('optimizer', parent=_mmseg.OPTIMIZERS, scope='focus_mm', locations=_LOCATIONS)
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor', parent=_mmseg.OPTIM_WRAPPER_CONSTRUCTORS,
                                      scope='focus_mm', locations=_LOCATIONS)
OPTIM_WRAPPERS = Registry('optim wrapper', parent=_mmseg.OPTIM_WRAPPERS, scope='focus_mm', locations=_LOCATIONS)
TASK_UTILS = Registry('task util', parent=_mmseg.TASK_UTILS, scope='focus_mm', locations=_LOCATIONS)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=_mmseg.PARAM_SCHEDULERS, scope='focus_mm',
                            locations=_LOCATIONS)
METRICS = Registry('metric', parent=_mmseg.METRICS, scope='focus_mm', locations=_LOCATIONS)
EVALUATOR = Registry('evaluator', parent=_mmseg.EVALUATOR, scope='focus_mm', locations=_LOCATIONS)
MODEL_WRAPPERS = Registry('model_wrapper', parent=_mmseg.MODEL_WRAPPERS, scope='focus_mm', locations=_LOCATIONS)
VISBACKENDS = Registry('vis_backend', parent=_mmseg.VISBACKENDS, scope='focus_mm', locations=_LOCATIONS)
VISUALIZERS = Registry('visualizer', parent=_mmseg.VISUALIZERS, scope='focus_mm', locations=_LOCATIONS)
RUNNERS = Registry('runner', parent=_mmseg.RUNNERS, scope='focus_mm', locations=_LOCATIONS)
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=_mmseg.RUNNER_CONSTRUCTORS, scope='focus_mm',
                               locations=_LOCATIONS)
LOOPS = Registry('loop', parent=_mmseg.LOOPS, scope='focus_mm', locations=_LOCATIONS)
LOG_PROCESSORS = Registry('log_processor', parent=_mmseg.LOG_PROCESSORS, scope='focus_mm', locations=_LOCATIONS)
INFERENCERS = Registry('inferencer', parent=_mmseg.INFERENCERS, scope='focus_mm', locations=_LOCATIONS)

__all__ = [
    'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS', 'TASK_UTILS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'MODEL_WRAPPERS', 'VISBACKENDS', 'VISUALIZERS', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'LOG_PROCESSORS',
    'INFERENCERS'
]
