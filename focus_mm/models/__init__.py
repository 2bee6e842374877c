"""Model components; each sub-package registers its modules into ``mmseg.registry.MODELS``."""
from . import backbones, data_preprocessors, decode_heads, losses, necks, segmentors  # noqa: F401
