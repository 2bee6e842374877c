"""focus_mm's registries: children of MMSegmentation's, under the scope ``focus_mm``.

Every component is registered in mmseg's registries, so that configs with ``default_scope='mmseg'``
name them. These children serve configs that inherit ours by package scope
(``_base_ = ['focus_mm::focus/<config>.py']``): mmengine tags the inherited dicts with
``_scope_='focus_mm'`` and, when it builds them, imports ``focus_mm.registry`` and looks for a registry of
that scope. A child holds nothing itself and finds every name in its parents (mmseg's, then mmcv's and
mmengine's), so such a config builds exactly what the same config with scope ``mmseg`` builds.

The scope also names our configs: ``_base_ = ['focus_mm::focus/<config>.py']`` reads
``focus_mm/.mim/configs/focus/<config>.py``. mmengine 0.10.7 resolves ``pkg::`` only for the packages in its
table ``MODULE2PACKAGE`` (alias ``PKG2PROJECT``), and finds the package folder through the distribution's
location, which for an editable install is site-packages, where no ``focus_mm`` folder exists.
:func:`register_config_scope` (called when ``focus_mm`` is imported) adds ``focus_mm`` to that table and
makes mmengine's ``get_installed_path`` answer the imported package's folder for ``focus_mm`` (other
packages get mmengine's own answer); both are listed in
``docs/advanced_guides/changes_to_other_libraries.md``.
Upstream: mmengine issue #1410 (``pkg::`` refused for packages outside the table; the fix proposed in
PR #1411, any importable package, was closed unmerged). An mmengine release that resolves ``pkg::`` for any
installed package through its imported module retires both changes; 0.10.7 is the newest.
"""
import os.path as osp

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


def register_config_scope() -> None:
    """Let mmengine resolve ``focus_mm::`` config paths to this package's ``.mim/configs`` (idempotent)."""
    import mmengine.config.config as config_module
    from mmengine.config.utils import PKG2PROJECT

    # mmengine refuses pkg:: for packages outside this table ("mmengine does not support to load
    # focus_mm config"); its configs then come from focus_mm/.mim/configs (see setup.cfg).
    PKG2PROJECT.setdefault('focus_mm', 'focus_mm')
    original = config_module.get_installed_path
    if getattr(original, '_focus_mm', False):
        return

    def get_installed_path(package: str) -> str:
        # For an editable install the distribution's location is site-packages, where no focus_mm
        # folder exists; the imported package is the one whose configs are meant.
        if package == 'focus_mm':
            return osp.dirname(osp.abspath(__file__))
        return original(package)

    get_installed_path._focus_mm = True
    config_module.get_installed_path = get_installed_path


register_config_scope()

__all__ = [
    'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS', 'TASK_UTILS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'MODEL_WRAPPERS', 'VISBACKENDS', 'VISUALIZERS', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS',
    'LOG_PROCESSORS', 'INFERENCERS', 'register_config_scope'
]
