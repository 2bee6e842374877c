"""Strict checkpoint loading with a message a user can act on."""
from typing import Optional

import torch
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model


def load_model_checkpoint(model: torch.nn.Module, filename: str, map_location: str = 'cpu',
                          revise_keys: Optional[list] = None) -> dict:
    """Load ``filename`` into ``model``; every key must fit.

    mmengine's runner loads non-strictly and only warns, so a checkpoint of another model would give a
    silently random network. Here a mismatch raises with the missing and unexpected keys listed.

    Args:
        model (nn.Module): The model (unwrapped).
        filename (str): Checkpoint path or URL.
        map_location (str): Where to put the tensors. Defaults to 'cpu'.
        revise_keys (list, optional): ``(pattern, replacement)`` pairs applied to the keys.

    Returns:
        dict: The checkpoint (``meta`` included).
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise RuntimeError(f'{filename} is not a state dict or an mmengine checkpoint.')
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        def head(keys):
            return ', '.join(keys[:8]) + (f' ... ({len(keys)} in all)' if len(keys) > 8 else '')

        raise RuntimeError(
            f'checkpoint {filename} does not fit this model (is it from another config?). '
            f'missing keys: [{head(missing)}]; unexpected keys: [{head(unexpected)}]; '
            f'shape mismatches: [{head(wrong_shape)}]. Use the config the checkpoint was trained with, '
            'or convert foreign weights with tools/model_converters/.')
    _load_checkpoint_to_model(model, checkpoint, strict=True, revise_keys=revise_keys or [(r'^module\.', '')])
    return checkpoint
