"""The authors' optimiser rule, checked parameter by parameter on the full-size configs (meta device)."""
import copy
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from focus_mm.engine.optimizers import NORM_LAYERS, FocusOptimWrapperConstructor
from focus_mm.utils import offline_model_cfg
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
L_SOD = osp.join(REPO, 'configs', 'focus', 'focus_dinov2-l_2xb4-20k_sod-512x512.py')
G_FROZEN_SOD = osp.join(REPO, 'configs', 'focus', 'focus_dinov2-g-frozen_2xb4-20k_sod-512x512.py')
MINI_SOD = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')


def _build_on_meta(path):
    """The config's model (SyncBN kept, no weights) on the meta device and its optim_wrapper config."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    with torch.device('meta'):
        model = MODELS.build(offline_model_cfg(cfg.model))  # SyncBN kept: the rule must reach it
    return model, cfg.optim_wrapper


def _on_cpu(optim_cfg):
    """The same optimiser in a plain wrapper (mmengine's AmpOptimWrapper asserts a GPU)."""
    optim_cfg = copy.deepcopy(optim_cfg)
    optim_cfg.type = 'OptimWrapper'
    return optim_cfg


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _build_wrapper(model, optim_cfg):
    logger = MMLogger.get_current_instance()
    records = _Records()
    logger.addHandler(records)
    # An earlier test's runner may have left the current logger above INFO, where the summary line is.
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        wrapper = build_optim_wrapper(model, optim_cfg)
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    return wrapper, records.messages


def _owners(model):
    """Each parameter's owning layer (the module that holds it directly)."""
    owners = {}
    for module in model.modules():
        for param in module.parameters(recurse=False):
            owners.setdefault(param, module)
    return owners


def _check_every_parameter(model, wrapper, base_lr, base_wd, lr_mult):
    """Every trainable parameter exactly once, with the lr of its part and the decay of its layer type."""
    slow = set(model.backbone.parameters()) | set(model.neck.parameters())
    owners = _owners(model)
    placed = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            assert param not in placed, 'a parameter is in two groups'
            placed[param] = (group['lr'], group['weight_decay'])
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert set(placed) == set(trainable)
    kinds = dict(norm=0, embedding=0, other=0, slow=0, fast=0)
    for param in trainable:
        owner = owners[param]
        lr, wd = placed[param]
        expect_lr = base_lr * (lr_mult if param in slow else 1.0)
        if isinstance(owner, NORM_LAYERS):
            expect_wd, kind = 0.0, 'norm'
        elif isinstance(owner, nn.Embedding):
            expect_wd, kind = 0.0, 'embedding'
        else:
            expect_wd, kind = base_wd, 'other'
        assert lr == pytest.approx(expect_lr) and wd == pytest.approx(expect_wd), (type(owner), lr, wd)
        kinds[kind] += 1
        kinds['slow' if param in slow else 'fast'] += 1
    return kinds


def test_dinov2_l_schedule_follows_the_authors_rule_for_every_parameter():
    model, optim_cfg = _build_on_meta(L_SOD)
    assert optim_cfg.type == 'AmpOptimWrapper' and optim_cfg.constructor == 'FocusOptimWrapperConstructor'
    base_lr, base_wd = optim_cfg.optimizer.lr, optim_cfg.optimizer.weight_decay
    assert (base_lr, base_wd) == (1e-4, 0.05)
    wrapper, messages = _build_wrapper(model, _on_cpu(optim_cfg))
    kinds = _check_every_parameter(model, wrapper, base_lr, base_wd, lr_mult=0.1)
    # What the rule must reach, found by type: mmpretrain's ln1/ln2 (LayerNorm), the neck's SyncBN
    # output norms and ResNet BNs, the pixel decoder's GroupNorms, the embeddings.
    lns = [m for m in model.backbone.modules() if isinstance(m, nn.LayerNorm)]
    assert len(lns) == 2 * 24 + 1  # ln1 + ln2 per block, the final norm
    assert any(isinstance(m, nn.SyncBatchNorm) for m in model.neck.modules())
    plain_bns = [m for m in model.neck.modules()
                 if isinstance(m, _BatchNorm) and not isinstance(m, nn.SyncBatchNorm)]
    assert plain_bns  # the edge ResNet's
    assert any(isinstance(m, nn.GroupNorm) for m in model.decode_head.modules())
    # query_feat, query_embed, level_embed of the decoder, level_embed of the pixel decoder
    embeddings = [n for n, m in model.named_modules() if isinstance(m, nn.Embedding)]
    assert sorted(embeddings) == ['decode_head.level_embed', 'decode_head.pixel_decoder.level_embed',
                                  'decode_head.query_embed', 'decode_head.query_feat']
    assert kinds['embedding'] == 4
    assert kinds['norm'] > 2 * len(lns)
    # The slow part is the ViT plus the whole edge enhancer (edge ResNet, injectors, extractors...).
    slow = sum(p.numel() for p in list(model.backbone.parameters()) + list(model.neck.parameters()))
    assert 0.3e9 < slow < 0.36e9
    # The log: one summary line, no per-parameter lines; base lr first (the lr mmengine logs).
    assert not any('paramwise_options' in m for m in messages)
    summaries = [m for m in messages if 'parameter groups' in m]
    assert len(summaries) == 1 and '4 parameter groups' in summaries[0]
    groups = wrapper.optimizer.param_groups
    assert len(groups) == 4 and groups[0]['lr'] == base_lr and groups[0]['weight_decay'] == base_wd


def test_frozen_vit_is_left_out_and_the_neck_stays_slow():
    model, optim_cfg = _build_on_meta(G_FROZEN_SOD)
    wrapper, messages = _build_wrapper(model, _on_cpu(optim_cfg))
    kinds = _check_every_parameter(model, wrapper, optim_cfg.optimizer.lr, optim_cfg.optimizer.weight_decay,
                                   lr_mult=0.1)
    assert kinds['slow'] > 0  # the edge enhancer
    in_groups = {p for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_groups & set(model.backbone.parameters())
    frozen = sum(1 for p in model.parameters() if not p.requires_grad)
    assert f'{frozen} frozen' in [m for m in messages if 'parameter groups' in m][0]


def test_mini_schedule_trains_every_part_at_the_base_lr_with_the_same_decay_rule():
    model, optim_cfg = _build_on_meta(MINI_SOD)
    assert optim_cfg.optimizer.lr == 4e-4
    wrapper, _ = _build_wrapper(model, optim_cfg)
    kinds = _check_every_parameter(model, wrapper, 4e-4, optim_cfg.optimizer.weight_decay, lr_mult=1.0)
    assert kinds['norm'] > 0 and kinds['embedding'] == 4
    assert len(wrapper.optimizer.param_groups) == 2


class _Shared(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        self.head = nn.Sequential(nn.Embedding(3, 2), nn.BatchNorm1d(2))
        self.head.add_module('tied', self.backbone[0])  # one tensor reachable twice
        self.scale = nn.Parameter(torch.ones(1))


def test_shared_parameters_once_and_root_parameters_at_base_lr():
    model = _Shared()
    model.head[1].weight.requires_grad_(False)
    cfg = dict(type='OptimWrapper', constructor='FocusOptimWrapperConstructor',
               optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.5),
               paramwise_cfg=dict(module_lr_mult=dict(backbone=0.1), norm_decay_mult=0.0,
                                  embed_decay_mult=0.0))
    wrapper, messages = _build_wrapper(model, cfg)
    placed = {p: (g['lr'], g['weight_decay']) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert len(placed) == sum(len(g["params"]) for g in wrapper.optimizer.param_groups) == 7
    assert placed[model.scale] == (1.0, 0.5)
    assert placed[model.backbone[0].weight] == (0.1, 0.5)  # the first part that holds it
    assert placed[model.backbone[1].weight] == (0.1, 0.0)
    assert placed[model.head[0].weight] == (1.0, 0.0)
    assert placed[model.head[1].bias] == (1.0, 0.0)
    assert model.head[1].weight not in placed
    assert 'left out: 1 frozen, 2 repeated' in [m for m in messages if 'parameter groups' in m][0]


def test_bad_paramwise_cfg_is_refused():
    optim = dict(type='AdamW', lr=1.0, weight_decay=0.5)
    with pytest.raises(ValueError, match=r"unknown paramwise_cfg keys \['custom_keys'\]"):
        FocusOptimWrapperConstructor(dict(optimizer=optim), dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    constructor = FocusOptimWrapperConstructor(dict(optimizer=optim), dict(module_lr_mult=dict(neck=0.1)))
    with pytest.raises(ValueError, match=r"names \['neck'\].*parts: \['backbone', 'head'\]"):
        constructor(_Shared())
    with pytest.raises(ValueError, match='need the optimizer'):
        FocusOptimWrapperConstructor(dict(optimizer=dict(type='AdamW', lr=1.0)), dict(norm_decay_mult=0.0))
