"""Segmentors."""
from .focus_segmentor import FocusSegmentor

__all__ = ['FocusSegmentor']
