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


def _child(parent: Registry, locations=('focus_mm', )) -> Registry:
    # locations: importing focus_mm registers the components (in the parents).
    return Registry(parent.name, parent=parent, scope='focus_mm', locations=list(locations))


HOOKS = _child(_mmseg.HOOKS)
DATASETS = _child(_mmseg.DATASETS)
DATA_SAMPLERS = _child(_mmseg.DATA_SAMPLERS)
TRANSFORMS = _child(_mmseg.TRANSFORMS)
MODELS = _child(_mmseg.MODELS)
WEIGHT_INITIALIZERS = _child(_mmseg.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(_mmseg.OPTIMIZERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(_mmseg.OPTIM_WRAPPER_CONSTRUCTORS)
OPTIM_WRAPPERS = _child(_mmseg.OPTIM_WRAPPERS)
TASK_UTILS = _child(_mmseg.TASK_UTILS)
PARAM_SCHEDULERS = _child(_mmseg.PARAM_SCHEDULERS)
METRICS = _child(_mmseg.METRICS)
EVALUATOR = _child(_mmseg.EVALUATOR)
MODEL_WRAPPERS = _child(_mmseg.MODEL_WRAPPERS)
VISBACKENDS = _child(_mmseg.VISBACKENDS)
VISUALIZERS = _child(_mmseg.VISUALIZERS)
RUNNERS = _child(_mmseg.RUNNERS)
RUNNER_CONSTRUCTORS = _child(_mmseg.RUNNER_CONSTRUCTORS)
LOOPS = _child(_mmseg.LOOPS)
LOG_PROCESSORS = _child(_mmseg.LOG_PROCESSORS)
# FocusInferencer is registered here, in the child itself (focus_mm.apis is imported on demand).
INFERENCERS = _child(_mmseg.INFERENCERS, locations=('focus_mm.apis', ))

__all__ = [
    'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS', 'TASK_UTILS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'MODEL_WRAPPERS', 'VISBACKENDS', 'VISUALIZERS', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS',
    'LOG_PROCESSORS', 'INFERENCERS'
]
