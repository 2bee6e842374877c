from .dinov2 import DINOv2  # noqa: F401
