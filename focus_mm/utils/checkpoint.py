"""The one strict checkpoint loader, used by the backbone, the edge neck, the APIs and the tools.

Files are read through mmengine's ``CheckpointLoader``, whose every scheme (local path, URL,
``torchvision://``, ``open-mmlab://``...) ``focus_mm.engine.checkpoint_loaders`` routes to its safe
reader; keys are revised and the weights copied by mmengine's strict ``_load_checkpoint_to_model``.
What this module adds is a check before the copy, so that a mismatch raises with the file, the missing,
unexpected and mis-shaped keys and what to do, instead of mmengine's warn-only default (a silently
partial model).
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint_to_model
from torch import nn

_SHOWN_KEYS = 20


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL or an mmengine scheme (``torchvision://``...) rather than a file."""
    return '://' in path


def check_checkpoint_exists(path: Optional[str], what: str, hint: str) -> None:
    """Fail early (at build time) when a local checkpoint file is missing.

    Args:
        path (str, optional): Local path or URL; ``None`` and URLs are not checked.
        what (str): What the weights are for, used in the message.
        hint (str): Where to get the weights.
    """
    if path is None or is_remote(path):
        return
    if not osp.isfile(osp.expanduser(path)):
        raise FileNotFoundError(f'{what}: checkpoint file not found: {path}. {hint}')


def state_dict_of(checkpoint, filename: str) -> dict:
    """The tensors of a loaded checkpoint: its ``state_dict`` (mmengine) or ``model`` (detectron2,
    DINOv2) entry, or the checkpoint itself when it is a plain state dict."""
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise RuntimeError(f'{filename} holds a {type(state).__name__}, not a state dict or an mmengine '
                           'checkpoint.')
    return state


def _shown(keys: Sequence[str]) -> str:
    head = ', '.join(keys[:_SHOWN_KEYS])
    return f'[{head}' + (f', ... ({len(keys)} in all)]' if len(keys) > _SHOWN_KEYS else ']')


def load_checkpoint_strict(module: nn.Module,
                           filename: str,
                           what: str = '',
                           hint: str = 'Use the config the checkpoint was trained with, or convert foreign '
                           'weights with tools/model_converters/.',
                           prefix: Optional[str] = '',
                           ignore_keys: Sequence[str] = (),
                           revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), ),
                           map_location: str = 'cpu') -> dict:
    """Load ``filename`` into ``module``; every key and shape must fit.

    Args:
        module (nn.Module): Target module (a model wrapper is unwrapped).
        filename (str): Local path, URL or mmengine scheme (``torchvision://resnet50``...).
        what (str): What the weights are for, put before messages. Defaults to ''.
        hint (str): What to do when the keys do not fit.
        prefix (str, optional): Keep only the keys that start with it, stripped (``'backbone.'`` takes a
            backbone out of a whole-model checkpoint); ``''`` keeps every key. ``None``: ``'backbone.'``
            when some key starts with it, else ``''``. Defaults to ''.
        ignore_keys (Sequence[str]): Checkpoint keys dropped before loading (logged), e.g. a
            classifier's ``fc.*``.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` regexes applied to the keys after the
            prefix, as in mmengine's ``load_checkpoint``. Defaults to stripping ``module.``.
        map_location (str): Where to put the tensors. Defaults to 'cpu'.

    Returns:
        dict: The loaded checkpoint (``meta`` included).
    """
    if is_model_wrapper(module):
        module = module.module
    tag = f'{what}: ' if what else ''
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    state = state_dict_of(checkpoint, filename)
    metadata = getattr(state, '_metadata', OrderedDict())
    if prefix is None:
        prefix = 'backbone.' if any(k.startswith('backbone.') for k in state) else ''
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise RuntimeError(f'{tag}no key of {filename} starts with prefix {prefix!r}. {hint}')
    dropped = [k for k in state if k in ignore_keys]
    if dropped:
        print_log(f'{tag}ignoring checkpoint keys {dropped}', logger='current')
    revised = OrderedDict()
    for key, value in state.items():
        if key in ignore_keys:
            continue
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    revised._metadata = metadata

    own = module.state_dict()
    # BN's num_batches_tracked is a counter, not a weight; mmengine and older torchvision files omit it.
    missing = [k for k in own if k not in revised and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in revised if k not in own]
    wrong_shape = [f'{k} {tuple(revised[k].shape)} vs {tuple(own[k].shape)}' for k in own
                   if k in revised and hasattr(revised[k], 'shape') and revised[k].shape != own[k].shape]
    if missing or unexpected or wrong_shape:
        raise RuntimeError(
            f'{tag}checkpoint {filename} does not fit this model (is it from another config?): '
            f'missing keys ({len(missing)}): {_shown(missing)}\n'
            f'  unexpected keys ({len(unexpected)}): {_shown(unexpected)}\n'
            f'  shape mismatches, checkpoint vs model ({len(wrong_shape)}): {_shown(wrong_shape)}\n{hint}')
    _load_checkpoint_to_model(module, revised, strict=True, revise_keys=())
    print_log(f'{tag}loaded {len(revised)} tensors from {filename}', logger='current')
    return checkpoint
