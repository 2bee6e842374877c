"""Decode heads and the pixel decoder they build."""
from .ground_query_head import GroundQueryHead
from .pixel_decoder import FocusPixelDecoder

__all__ = ['FocusPixelDecoder', 'GroundQueryHead']
