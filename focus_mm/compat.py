"""Every workaround for running the 2023 OpenMMLab stack on current torch, in one place.

Imported first by ``focus_mm/__init__.py``; importing it twice is harmless. Each patch states why it
exists and what upstream fixed it, so it can be dropped when the pins move.

- ``torch.load`` in mmengine 0.10.7 passes no ``weights_only``; torch >= 2.6 defaults to True, which
  refuses mmengine's own training state (``MessageHub`` history, numpy scalars) and breaks ``--resume``.
  We re-register the local-file loader: a safe load first, with mmengine's state classes allow-listed
  (and ``HistoryBuffer`` pickled without function references, so our own checkpoints load safely);
  a full unpickle only when that fails and the caller opted in (``FOCUS_TRUSTED_CHECKPOINTS=1``),
  logged, because a full unpickle runs code from the file.
- ``mmengine.dist`` assumes CUDA for the PyTorch launcher (``torch.cuda.set_device``) and the runner
  wraps models in DDP with ``device_ids=[LOCAL_RANK]``; both fail on a CPU machine. CPU runs get a
  gloo process group and a DDP wrapper without device ids (``CPUDistributedDataParallel``).
"""
import logging
import os
import os.path as osp

import numpy as np
import torch

from mmengine.logging import print_log

_PATCHED = False


# --------------------------------------------------------------------------------------------------
# 1. Checkpoint loading (mmengine 0.10.7 + torch >= 2.6): safe first, full unpickle only on opt-in.
# --------------------------------------------------------------------------------------------------
def _mmengine_safe_globals() -> list:
    """Classes and functions that mmengine training checkpoints pickle besides tensors."""
    from collections import OrderedDict, defaultdict

    from mmengine.logging.history_buffer import HistoryBuffer

    globs = [HistoryBuffer, OrderedDict, defaultdict, np.ndarray, np.dtype]
    # numpy arrays and scalars are rebuilt through these (module moved in numpy 2).
    core = getattr(np, '_core', None) or np.core
    globs += [core.multiarray._reconstruct, core.multiarray.scalar]
    globs += [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool', 'uint8')]
    return globs


def trusted_full_load_allowed() -> bool:
    """Whether a checkpoint that fails the safe load may be fully unpickled."""
    return os.environ.get('FOCUS_TRUSTED_CHECKPOINTS', '0') == '1'


def load_local_checkpoint(filename: str, map_location=None, logger=None):
    """Load a local checkpoint safely; see the module docstring for the policy.

    Args:
        filename (str): Path of the file.
        map_location: As in :func:`torch.load`.
        logger: Unused; mmengine's loader signature.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint not found: {filename}. Check the path (or --resume / load_from), or download '
            'the weights named in docs/model_zoo.md to that path.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError or RuntimeError depending on the payload
        if not trusted_full_load_allowed():
            raise RuntimeError(
                f'{filename} holds Python objects that the safe loader refuses ({err}). If you trust '
                'this file, set FOCUS_TRUSTED_CHECKPOINTS=1 to allow a full unpickle, which can run '
                'code stored in the file.') from err
        print_log(f'full unpickle of {filename} (FOCUS_TRUSTED_CHECKPOINTS=1)', logger='current',
                  level=logging.WARNING)
        return torch.load(filename, map_location=map_location, weights_only=False)


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without its function table.

    mmengine pickles ``{'min': HistoryBuffer.min, ...}`` into every buffer, which the safe loader
    refuses (it needs ``getattr``); those functions are class-level and re-registered on load anyway.
    """
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def _patch_checkpoint_loader() -> None:
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader

    HistoryBuffer.__getstate__ = _history_buffer_getstate

    torch.serialization.add_safe_globals(_mmengine_safe_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


# --------------------------------------------------------------------------------------------------
# 2. Distributed training on CPU (mmengine 0.10.7 assumes CUDA for the pytorch launcher).
# --------------------------------------------------------------------------------------------------
def _patch_cpu_distributed() -> None:
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    original = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend='nccl', init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        # No GPU: nccl cannot work and torch.cuda.set_device would raise; use gloo.
        torch.distributed.init_process_group(backend='gloo', **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch

    if 'CPUDistributedDataParallel' not in MODEL_WRAPPERS.module_dict:

        @MODEL_WRAPPERS.register_module()
        class CPUDistributedDataParallel(MMDistributedDataParallel):
            """DDP for CPU modules: drops the CUDA ``device_ids`` the runner always passes."""

            def __init__(self, module, device_ids=None, **kwargs):
                super().__init__(module=module, device_ids=None, **kwargs)


def apply() -> None:
    """Apply every workaround once."""
    global _PATCHED
    if _PATCHED:
        return
    _patch_checkpoint_loader()
    _patch_cpu_distributed()
    _PATCHED = True


apply()
