"""A model that builds without downloads: for inference from a checkpoint, FLOPs, tests."""
from mmengine.config import ConfigDict
from mmengine.model import revert_sync_batchnorm
from torch import nn

# Components used in training only: inference and analysis build the model without them.
TRAINING_ONLY_TYPES = ('CLIPRefinerLoss', )


def offline_model_cfg(model_cfg) -> ConfigDict:
    """Return a copy of ``model_cfg`` that needs no weights file and no network.

    Removes ``init_cfg=dict(type='Pretrained', ...)`` and the edge branch's ``edge_pretrained`` (a
    checkpoint or random weights replace them) and drops training-only losses (the CLIP refiner). Norm
    layers are left as configured: :func:`build_offline_model` turns SyncBN into BN on the built model.

    Args:
        model_cfg (dict | ConfigDict): A ``model`` config.

    Returns:
        ConfigDict: The new config (the input is not modified).
    """

    def walk(node):
        if isinstance(node, dict):
            node = dict(node)
            if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
                node['init_cfg'] = None
            if 'edge_pretrained' in node:
                node['edge_pretrained'] = None
            return {k: (None if _is_training_only(v) else walk(v)) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(walk(v) for v in node if not _is_training_only(v))
        return node

    # mmseg reads e.g. ``test_cfg.mode`` as an attribute: hand back ConfigDicts.
    return ConfigDict(walk(model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else model_cfg))


def build_offline_model(model_cfg) -> nn.Module:
    """Build :func:`offline_model_cfg` of ``model_cfg`` for one process.

    SyncBN layers (the multi-GPU configs) are turned into BN by mmengine's ``revert_sync_batchnorm``, as
    mmengine's runner does outside distributed runs; the state-dict keys stay the same. Weights are not
    initialised (``init_weights`` is the caller's choice).

    Args:
        model_cfg (dict | ConfigDict): A ``model`` config; the default scope must be set (mmseg).

    Returns:
        nn.Module: The model.
    """
    from mmseg.registry import MODELS
    return revert_sync_batchnorm(MODELS.build(offline_model_cfg(model_cfg)))


def _is_training_only(node) -> bool:
    return isinstance(node, dict) and node.get('type') in TRAINING_ONLY_TYPES
