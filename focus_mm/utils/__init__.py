"""Small helpers shared by the tools, the API and the tests."""
from .checkpoint import check_checkpoint_exists, is_remote, load_checkpoint_strict, state_dict_of
from .offline_config import TRAINING_ONLY_TYPES, build_offline_model, offline_model_cfg
from .overlay import overlay_mask

__all__ = [
    'TRAINING_ONLY_TYPES', 'build_offline_model', 'check_checkpoint_exists', 'is_remote',
    'load_checkpoint_strict', 'offline_model_cfg', 'overlay_mask', 'state_dict_of'
]
