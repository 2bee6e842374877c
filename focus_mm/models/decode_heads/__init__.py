from .ground_query_head import GroundQueryHead  # noqa: F401
from .pixel_decoder import FocusPixelDecoder  # noqa: F401
