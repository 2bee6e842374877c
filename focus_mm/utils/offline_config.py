"""A model config that builds without downloads: for inference from a checkpoint, FLOPs, tests."""
from mmengine.config import ConfigDict

# Components used in training only: inference and analysis build the model without them.
TRAINING_ONLY_TYPES = ('CLIPRefinerLoss', )


def offline_model_cfg(model_cfg, sync_bn_to_bn: bool = True) -> ConfigDict:
    """Return a copy of ``model_cfg`` that needs no weights file and no network.

    Removes ``init_cfg=dict(type='Pretrained', ...)`` and the edge branch's ``edge_pretrained`` (a
    checkpoint or random weights replace them), drops training-only losses (the CLIP refiner), and
    turns SyncBN into BN (one process).

    Args:
        model_cfg (dict | ConfigDict): A ``model`` config.
        sync_bn_to_bn (bool): Replace ``SyncBN`` norms by ``BN``. Defaults to True.

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
            if sync_bn_to_bn and node.get('type') == 'SyncBN':
                node['type'] = 'BN'
            return {k: (None if _is_training_only(v) else walk(v)) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(walk(v) for v in node if not _is_training_only(v))
        return node

    # mmseg reads e.g. ``test_cfg.mode`` as an attribute: hand back ConfigDicts.
    return ConfigDict(walk(model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else model_cfg))


def _is_training_only(node) -> bool:
    return isinstance(node, dict) and node.get('type') in TRAINING_ONLY_TYPES
