"""Small helpers shared by the tools, the API and the tests."""
from .offline_config import TRAINING_ONLY_TYPES, offline_model_cfg

__all__ = ['TRAINING_ONLY_TYPES', 'offline_model_cfg']
