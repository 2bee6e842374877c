"""Distributed runs without CUDA (focus_mm/engine/cpu_distributed.py): the wrapper, the config, the init."""
import mmengine.dist.utils as dist_utils
import torch
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS

from focus_mm.engine import CPUDistributedDataParallel, configure_cpu_launcher


def test_wrapper_is_importable_and_registered_for_every_scope():
    assert MODEL_WRAPPERS.get('CPUDistributedDataParallel') is CPUDistributedDataParallel
    from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
    assert MMSEG_MODEL_WRAPPERS.get('CPUDistributedDataParallel') is CPUDistributedDataParallel


def test_launcher_config_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True,
                      env_cfg=dict(dist_cfg=dict(backend='nccl'))))  # as default_runtime.py
    configure_cpu_launcher(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(type='CPUDistributedDataParallel', find_unused_parameters=True)
    single = Config(dict(launcher='none'))
    configure_cpu_launcher(single)
    assert 'model_wrapper_cfg' not in single and 'env_cfg' not in single


def test_launcher_config_with_cuda_is_left_alone(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    configure_cpu_launcher(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg


def test_pytorch_launcher_uses_gloo_without_cuda(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'set_device', lambda *a: calls.append(('set_device', a)))
    monkeypatch.setattr(torch.distributed, 'init_process_group', lambda **kw: calls.append(('init', kw)))
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    dist_utils._init_dist_pytorch('nccl', timeout=None)
    assert calls == [('init', dict(backend='gloo', timeout=None))]  # no device set, gloo not nccl
