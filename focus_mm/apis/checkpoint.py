"""Strict checkpoint loading for whole models: :func:`focus_mm.utils.load_checkpoint_strict` for the API."""
from typing import Optional

import torch

from ..utils import load_checkpoint_strict


def load_model_checkpoint(model: torch.nn.Module, filename: str, map_location: str = 'cpu',
                          revise_keys: Optional[list] = None) -> dict:
    """Load ``filename`` into ``model``; every key must fit.

    mmengine's runner loads non-strictly and only warns, so a checkpoint of another model would give a
    silently random network. Here a mismatch raises with the missing and unexpected keys listed.

    Args:
        model (nn.Module): The model.
        filename (str): Checkpoint path, URL or mmengine scheme (read by the safe loader of
            ``focus_mm.engine.checkpoint_loaders``).
        map_location (str): Where to put the tensors. Defaults to 'cpu'.
        revise_keys (list, optional): ``(pattern, replacement)`` pairs applied to the keys. Defaults to
            stripping ``module.``.

    Returns:
        dict: The checkpoint (``meta`` included).
    """
    return load_checkpoint_strict(model, filename, revise_keys=revise_keys or [(r'^module\.', '')],
                                  map_location=map_location)
