"""Model components; each sub-package registers its modules into ``mmseg.registry.MODELS`` (the match
costs of ``assigners`` into ``TASK_UTILS``)."""
from . import assigners, backbones, data_preprocessors, decode_heads, losses, necks, segmentors  # noqa: F401
