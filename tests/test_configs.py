"""Every config in configs/ loads and builds its model; every mini config runs one training step.

Full-size models are built on the ``meta`` device (shapes only, no memory, no weights): the build
checks every key of the config against the components, and the parameter counts against the sizes
the configs claim. Pretrained files and the CLIP model are stripped (nothing is downloaded).
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from focus_mm.utils import offline_model_cfg
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALL_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))
LEAF_CONFIGS = [c for c in ALL_CONFIGS if '_base_' not in c]
MINI_CONFIGS = [c for c in LEAF_CONFIGS if osp.basename(c).startswith('focus_mini_')]


def _count(model, prefix=''):
    return sum(p.numel() for n, p in model.named_parameters() if n.startswith(prefix))


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_loads(path):
    cfg = Config.fromfile(path)
    if '_base_' not in path:
        assert cfg.default_scope == 'mmseg'
        assert 'focus_mm' in cfg.custom_imports['imports']
        assert cfg.model.type and cfg.train_dataloader and cfg.test_evaluator
        assert dict(type='NonFiniteLossHook') in cfg.custom_hooks  # from _base_/default_runtime.py


# One build per distinct architecture: the task variants of a size differ only in data and prompts.
_ARCH_FAMILIES = {
    'focus_dinov2-l_': (304e6, 374e6),
    'focus_dinov2-g_': (1136e6, 1236e6),
    'focus_dinov2-g-frozen_': (1136e6, 1236e6),
}


@pytest.mark.parametrize('family', sorted(_ARCH_FAMILIES))
def test_full_size_models_build_on_meta(family):
    init_default_scope('mmseg')
    paths = [p for p in LEAF_CONFIGS if osp.basename(p).startswith(family)]
    assert len(paths) == 5, f'{family}: expected one config per task, found {paths}'
    cfg = Config.fromfile(paths[0])
    with torch.device('meta'):
        model = MODELS.build(offline_model_cfg(cfg.model))
    vit, total = _ARCH_FAMILIES[family]
    assert abs(_count(model, 'backbone.') - vit) / vit < 0.02
    assert abs(_count(model) - total) / total < 0.02
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if 'frozen' in family:
        # the paper's "0.1G trainable": only the edge enhancer and the decoder learn
        assert 0.05e9 < trainable < 0.15e9
        assert not any(p.requires_grad for p in model.backbone.parameters())
    else:
        assert trainable > vit
    # every task variant of the family has the same architecture (only prompts/data differ)
    for other in paths[1:]:
        other_cfg = offline_model_cfg(Config.fromfile(other).model)
        assert other_cfg == offline_model_cfg(cfg.model), other


@pytest.mark.parametrize('path', MINI_CONFIGS, ids=osp.basename)
def test_mini_config_trains_one_step(path, tmp_path, monkeypatch):
    """The real dataloader of the config (mini-benchmark generated into tmp), one optimizer step."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    monkeypatch.setenv('FOCUS_DATA', str(tmp_path))
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    model = MODELS.build(offline_model_cfg(cfg.model))
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = next(iter(loader))
    assert data['inputs'][0].shape[0] == 6  # image + edge-blended image from EdgePrior
    losses = model.train_step(data, optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any(n.startswith('backbone.') for n in changed)
    assert any(n.startswith('decode_head.') for n in changed)
