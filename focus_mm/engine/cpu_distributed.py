"""Distributed training and testing on machines without CUDA: gloo, and DDP without device ids.

mmengine 0.10.7 assumes CUDA for the PyTorch launcher: its private ``mmengine.dist.utils._init_dist_pytorch``
calls ``torch.cuda.set_device(LOCAL_RANK)`` before creating the process group, and ``Runner.wrap_model``
passes ``device_ids=[LOCAL_RANK]`` to every ``DistributedDataParallel`` wrapper, which torch refuses for a
module on the CPU. Both fail on a CPU machine (``tools/dist_train.sh`` there, the DDP tests of the
metrics and of the tools).

- :class:`CPUDistributedDataParallel` (registered in mmengine's root ``MODEL_WRAPPERS``, so a runner of
  any scope finds it) drops the device ids; :func:`configure_cpu_launcher` selects it and gloo in a
  config when a distributed launcher runs without CUDA.
- :func:`use_gloo_without_cuda`, called when ``focus_mm`` is imported, replaces
  ``_init_dist_pytorch`` by one that, without CUDA, creates a gloo process group and sets no device;
  with CUDA it calls mmengine's own. This is the one import-time change of this module (listed in
  ``docs/advanced_guides/changes_to_other_libraries.md``).

Upstream: no mmengine issue or pull request covers CPU-only distributed runs (searched for
``_init_dist_pytorch`` / ``set_device`` / ``device_ids`` on CPU); mmengine PR #973 only changed which
rank selects the GPU. Both parts are retired by an mmengine release whose ``_init_dist_pytorch`` skips
``torch.cuda.set_device`` without CUDA and whose ``Runner.wrap_model`` passes no ``device_ids`` for a
CPU module; mmengine 0.10.7 is the newest release.
"""
import torch
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for a module on the CPU: drops the CUDA ``device_ids`` the runner passes.

    Args:
        module (nn.Module): The model (on the CPU).
        device_ids (list, optional): Ignored (the runner always passes ``[LOCAL_RANK]``).
        **kwargs: Passed to ``MMDistributedDataParallel`` (e.g. ``find_unused_parameters``).
    """

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)


def configure_cpu_launcher(cfg) -> None:
    """On a machine without CUDA, make a distributed config use gloo and :class:`CPUDistributedDataParallel`.

    Does nothing for ``launcher='none'`` or when CUDA is available.

    Args:
        cfg (Config): The run's config; ``env_cfg.dist_cfg.backend`` and ``model_wrapper_cfg`` are set
            in place.
    """
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel',
                                     find_unused_parameters=cfg.get('find_unused_parameters', False))


def use_gloo_without_cuda() -> None:
    """Replace mmengine's ``_init_dist_pytorch`` by one that works without CUDA (idempotent)."""
    import mmengine.dist.utils as dist_utils

    original = dist_utils._init_dist_pytorch
    if getattr(original, '_focus_mm', False):
        return

    def _init_dist_pytorch(backend='nccl', init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        # No GPU: nccl cannot work and torch.cuda.set_device would raise; use gloo.
        torch.distributed.init_process_group(backend='gloo', **kwargs)

    _init_dist_pytorch._focus_mm = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch


use_gloo_without_cuda()
