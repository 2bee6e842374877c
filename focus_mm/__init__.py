"""focus_mm: FOCUS universal foreground segmentation for OpenMMLab.

Importing the package registers every component into MMSegmentation's registries (``MODELS``, ``DATASETS``,
``TRANSFORMS``, ``METRICS``, ``HOOKS``), so configs with ``default_scope='mmseg'`` and
``custom_imports=dict(imports=['focus_mm'])`` can name them.

It also changes a few things in mmengine, mmcv and torch, each in the module of its subject and listed,
with its reason and the upstream change that retires it, in
``docs/advanced_guides/changes_to_other_libraries.md``: the checkpoint loaders
(``engine/checkpoint_loaders.py``), distributed runs without CUDA (``engine/cpu_distributed.py``), the
``focus_mm::`` config scope (``registry.py``) and bfloat16 deformable attention
(``models/layers/msda_bfloat16.py``).
"""
from . import registry  # noqa: F401  (the focus_mm:: config scope)
from .engine import checkpoint_loaders, cpu_distributed  # noqa: F401,E402
from .models.layers import msda_bfloat16  # noqa: F401,E402
from . import datasets, engine, evaluation, models  # noqa: F401,E402
from .version import __version__  # noqa: E402

__all__ = ['__version__']
