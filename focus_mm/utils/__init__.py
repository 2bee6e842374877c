"""Small helpers shared by the tools, the API and the tests."""
from .offline_config import TRAINING_ONLY_TYPES, build_offline_model, offline_model_cfg

__all__ = ['TRAINING_ONLY_TYPES', 'build_offline_model', 'offline_model_cfg']
