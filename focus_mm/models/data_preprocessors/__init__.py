"""Data pre-processors (registered into ``mmseg.registry.MODELS``)."""
from .focus_data_preprocessor import FocusDataPreProcessor

__all__ = ['FocusDataPreProcessor']
