"""focus_mm: FOCUS universal foreground segmentation for OpenMMLab.

Importing the package registers every component into MMSegmentation's registries
(``MODELS``, ``DATASETS``, ``TRANSFORMS``, ``METRICS``, ``HOOKS``), so configs with ``default_scope='mmseg'`` and
``custom_imports=dict(imports=['focus_mm'])`` can name them.
"""
from . import compat  # noqa: F401  (must run before anything touches mmengine/mmcv)
from . import datasets, engine, evaluation, models  # noqa: F401,E402
from .version import __version__  # noqa: E402

__all__ = ['__version__']
