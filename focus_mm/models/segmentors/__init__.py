"""Segmentors."""
from .focus_segmentor import FocusSegmentor
from .foreground_tta import ForegroundTTAModel

__all__ = ['FocusSegmentor', 'ForegroundTTAModel']
