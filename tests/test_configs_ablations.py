"""The Table 4 ablation configs and their switches (JP, CR, EE, PR, frozen, M0).

Every config under configs/focus/ablations/ is built (full size on the ``meta`` device, mini for real),
and each switch is checked where it shows: parameters and modules, trainability, the loss terms, the
prediction rule; switch combinations that cannot work fail at build time naming both switches.
"""
import copy
import functools
import glob
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from _tiny_models import (build_model, synthetic_foreground_batch, tiny_focus_segmentor_cfg,
                          tiny_head_cfg, tiny_resnet_segmentor_cfg)
from focus_mm.utils import offline_model_cfg

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ABLATIONS = sorted(glob.glob(osp.join(REPO, 'configs', 'focus', 'ablations', '*.py')))
NAME = re.compile(r'focus-ablation-(?P<id>\d)-[^_]+_(?P<backbone>[^_]+)_1xb2-\w+_(?P<task>cod|sod)-')
# Our reading of Table 4: (JP, CR, EE, frozen, PR) per row id.
ROWS = {0: (False, False, False, False, False), 1: (True, False, False, False, False),
        2: (True, True, False, False, False), 3: (True, True, True, False, False),
        4: (True, True, True, True, False), 5: (True, True, True, False, False),
        6: (True, True, True, False, True)}
# width, depth
BACKBONES = {'dinov2-l': (1024, 24), 'dinov2-g': (1536, 40), 'mini': (96, 4), 'mini-g': (128, 8)}


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def _parse(path):
    match = NAME.search(osp.basename(path))
    assert match, f'{osp.basename(path)}: expected focus-ablation-<id>-<tag>_<backbone>_1xb2-<iters>_<task>-'
    return int(match['id']), match['backbone'], match['task']


@functools.lru_cache(maxsize=None)
def _load(path):
    """Each config is read once per session (callers must not modify it; copy first)."""
    return Config.fromfile(path)


def _config(row, backbone, task):
    found = [p for p in ABLATIONS if _parse(p) == (row, backbone, task)]
    assert len(found) == 1, (row, backbone, task, found)
    return _load(found[0])


def _params(model, trainable=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def test_every_row_exists_for_both_tasks_and_the_mini_model():
    rows = {_parse(p) for p in ABLATIONS}
    full = {(r, 'dinov2-l' if r < 4 else 'dinov2-g', t) for r in ROWS for t in ('cod', 'sod')}
    mini = {(r, 'mini' if r < 4 else 'mini-g', 'cod') for r in ROWS}
    assert rows == full | mini
    for path in ABLATIONS:  # the recipe of the paper's ablation (batch 2; COD 10k, SOD 20k) or the mini one
        cfg = _load(path)
        row, backbone, task = _parse(path)
        assert cfg.train_dataloader.batch_size == 2 and cfg.randomness.seed == 0
        expected_iters = 150 if 'mini' in backbone else {'cod': 10000, 'sod': 20000}[task]
        assert cfg.train_cfg.max_iters == expected_iters == cfg.param_scheduler[0].end
        if 'mini' not in backbone:
            expected_set = {'cod': 'CAMO', 'sod': 'PASCAL-S'}[task]
            assert cfg.test_dataloader.dataset.dataset_name == expected_set


@pytest.mark.parametrize('path', ABLATIONS, ids=osp.basename)
def test_switches_of_each_config(path):
    """The config's fields say what the row of Table 4 says, and the built model follows them."""
    row, backbone, _ = _parse(path)
    jp, cr, ee, frozen, pr = ROWS[row]
    mini = 'mini' in backbone
    cfg = _load(path)
    head_cfg = cfg.model.decode_head
    assert head_cfg.get('joint_prediction', True) == jp
    assert (head_cfg.loss_clip is not None) == cr
    if cr:  # full rows: the real OpenAI CLIP; mini rows: a tiny random one
        assert head_cfg.loss_clip.pretrained == (None if mini else 'openai')
    assert cfg.model.neck.get('with_edge', True) == ee
    assert (cfg.model.neck.edge_pretrained is not None) == (ee and not mini)
    assert cfg.model.backbone.get('frozen', False) == frozen
    assert (cfg.load_from is not None) == (pr and not mini)  # no pretrained mini checkpoint exists
    assert (head_cfg.prior_index is not None) == (jp and not mini)  # M0 goes with the ground queries

    init_default_scope('mmseg')
    with torch.device('meta'):
        model = MODELS.build(offline_model_cfg(cfg.model))
    head = model.decode_head
    assert head.joint_prediction == jp
    assert head.query_feat.weight.shape[0] == (2 if jp else 1)
    assert head.cls_embed.out_features == (3 if jp else 2)
    assert hasattr(model.neck, 'edge_backbone') == ee and hasattr(model.neck, 'interactions') == ee
    assert hasattr(model.neck, 'pyramid') == (not ee)
    assert (model.backbone.embed_dims, model.backbone.num_layers) == BACKBONES[backbone]
    backbone_trainable = any(p.requires_grad for p in model.backbone.parameters())
    assert backbone_trainable == (not frozen)


def _meta_counts(cfg):
    init_default_scope('mmseg')
    with torch.device('meta'):
        model = MODELS.build(offline_model_cfg(cfg.model))
    return _params(model), _params(model, trainable=True), model


def test_full_rows_differ_by_their_modules_parameter_counts():
    """Each row adds what its switch adds: JP a query and a class, CR nothing trainable in the model
    (the frozen CLIP stays outside it), EE the edge branch (~36M net for L); G frozen trains ~0.1G,
    G ~1.2G."""
    counts = {}
    for row in ROWS:
        backbone = 'dinov2-l' if row < 4 else 'dinov2-g'
        cod = _config(row, backbone, 'cod')
        counts[row] = _meta_counts(cod)[:2]
        # the SOD row is the same model (only the data, the schedule and the CLIP prompts differ)
        assert offline_model_cfg(_config(row, backbone, 'sod').model) == offline_model_cfg(cod.model)
        assert _config(row, backbone, 'sod').model.decode_head.get('loss_clip') is None or \
            _config(row, backbone, 'sod').model.decode_head.loss_clip.task == 'sod'
    width = 256
    assert counts[1][0] - counts[0][0] == 2 * width + (width + 1)  # query_feat + query_embed rows, class
    assert counts[2] == counts[1]
    # EE: the authors' edge ResNet-50 + projections, interactions, adapter extras, minus our simple pyramid
    # (three 2x2 transposed convs at D = 1024 and a BN) that the EE-off neck uses instead
    edge_branch = 27_444_288 + 17_269_632 + 4_206_592 - (3 * (4 * 1024 * 1024 + 1024) + 2 * 1024)
    assert abs(counts[3][0] - counts[2][0] - edge_branch) / edge_branch < 0.02
    assert abs(counts[3][0] - 373_929_351) / 373_929_351 < 0.02  # the authors' FOCUS-L
    assert 0.05e9 < counts[4][1] < 0.15e9 and counts[5][1] > 1.15e9  # "0.1G" and "1.2G" trainable
    assert counts[4][0] == counts[5][0] == counts[6][0] and counts[5] == counts[6]


def _mini_batch(model, size=64):
    images, samples = synthetic_foreground_batch(2, size, channels=6)
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), True)


@pytest.mark.parametrize('row', sorted(ROWS))
def test_mini_rows_train_with_the_loss_terms_and_gradients_their_switches_imply(row):
    cfg = _config(row, 'mini' if row < 4 else 'mini-g', 'cod')
    jp, cr, ee, frozen, _ = ROWS[row]
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert (model.decode_head.loss_clip is not None) == cr
    losses = model.loss(**_mini_batch(model))
    layers = cfg.model.decode_head.num_decoder_layers
    terms = ('loss_cls', 'loss_mask', 'loss_dice', 'loss_bbox', 'loss_giou')
    terms += ('loss_clip', ) if cr else ()  # CR: the CLIP loss on every prediction set
    expected = {f'decode.{p}{t}' for p in [''] + [f'd{i}.' for i in range(layers)] for t in terms}
    assert set(losses) == expected
    sum(losses.values()).backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    moved = lambda prefix: any(g is not None and g.abs().sum() > 0 for n, g in grads.items()  # noqa: E731
                               if n.startswith(prefix))
    assert moved('backbone.') == (not frozen)
    assert moved('neck.edge_backbone.') == ee
    assert moved('decode_head.query_feat')


def test_jp_switch_changes_the_prediction_rule():
    """JP on: sigmoid = S_fg / (S_fg + S_bg) over two queries; JP off: sigmoid = p(fg) * m of the one
    foreground query, decided at 0.5, with no background term."""
    size = 64
    feats = [torch.randn(2, 8, size // s, size // s) for s in (4, 8, 16, 32)]
    metas = [dict(img_shape=(size, size), pad_shape=(size, size))]
    results = {}
    for jp in (True, False):
        torch.manual_seed(0)
        head = MODELS.build(ConfigDict(tiny_head_cfg([8] * 4, joint_prediction=jp)))
        head.init_weights()
        head.eval()
        with torch.no_grad():
            cls, masks, _ = head(feats)
            logits = head.predict(feats, metas, {})
        probs = cls[-1].softmax(-1)
        up = F.interpolate(masks[-1], size=(size, size), mode='bilinear').sigmoid()
        results[jp] = (probs, up, logits)
    probs, up, logits = results[True]
    assert probs.shape == (2, 2, 3)
    s_fg = (probs[:, :, 0, None, None] * up).sum(1)
    s_bg = (probs[:, :, 1, None, None] * up).sum(1)
    assert torch.allclose(logits[:, 0].sigmoid(), s_fg / (s_fg + s_bg), atol=1e-5)
    # the foreground-only rule on the same two queries would decide otherwise somewhere
    fg_only = GroundQueryHeadRule.foreground_only(probs, up)
    assert not torch.allclose(fg_only, logits[:, 0].sigmoid(), atol=1e-3)

    probs, up, logits = results[False]
    assert probs.shape == (2, 1, 2) and logits.shape == (2, 1, size, size)
    p_fg = probs[:, 0, 0, None, None] * up[:, 0]
    assert torch.allclose(logits[:, 0].sigmoid(), p_fg.clamp(1e-6, 1 - 1e-6), atol=1e-5)
    decided = (p_fg - 0.5).abs() > 1e-5
    assert torch.equal((logits[:, 0] > 0)[decided], (p_fg > 0.5)[decided])


class GroundQueryHeadRule:
    """The foreground-only rule written out independently of the head."""

    @staticmethod
    def foreground_only(probs, up):
        return (probs[:, :, 0, None, None] * up).sum(1).clamp(1e-6, 1 - 1e-6)


def test_jp_off_trains_on_the_foreground_only():
    """No background target: an image without foreground sends the one query to no-object (label 1)."""
    head = MODELS.build(ConfigDict(tiny_head_cfg([8] * 4, joint_prediction=False, num_decoder_layers=1)))
    head.init_weights()
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for value in (1, 0):
        sample = SegDataSample()
        mask = torch.zeros(64, 64, dtype=torch.long)
        mask[16:48, 16:48] = value
        sample.gt_sem_seg = PixelData(data=mask[None])
        samples.append(sample)
    targets = head._build_targets(samples, torch.device('cpu'))
    assert targets[0]['labels'].tolist() == [0] and targets[1]['labels'].tolist() == []
    assert head.loss_cls.class_weight(2).tolist() == [1.0, pytest.approx(0.1)]
    feats = [torch.randn(2, 8, 64 // s, 64 // s) for s in (4, 8, 16, 32)]
    outputs = head(feats)
    matches = [head.match(outputs[0][-1][b], outputs[1][-1][b], t) for b, t in enumerate(targets)]
    assert [m[0].tolist() for m in matches] == [[0], []]
    losses = head.loss_by_feat(outputs, samples)
    labels = torch.tensor([[0], [1]])  # foreground; no-object for the image without foreground
    expected_cls = F.cross_entropy(outputs[0][-1].transpose(1, 2), labels,
                                   head.loss_cls.class_weight(2))
    assert torch.allclose(losses['loss_cls'], expected_cls)


# ------------------------------------------------------------------ switch combinations that cannot work
def _fails(cfg, *names):
    with pytest.raises(ValueError) as info:
        MODELS.build(ConfigDict(cfg))
    for name in names:
        assert name in str(info.value), (name, str(info.value))


def test_m0_without_a_token_map_fails_naming_both_switches():
    _fails(tiny_resnet_segmentor_cfg(prior_index=4), 'decode_head.prior_index=4', 'backbone.type=ResNetV1c')
    cfg = tiny_resnet_segmentor_cfg(prior_index=4)
    cfg['neck'] = dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=16, num_outs=4)
    _fails(cfg, 'decode_head.prior_index=4', 'neck.type=FPN')
    cfg = tiny_focus_segmentor_cfg(prior=True)
    cfg['decode_head']['prior_index'] = 3
    _fails(cfg, 'decode_head.prior_index=3', 'decode_head.in_index')
    build_model(tiny_focus_segmentor_cfg(prior=True))  # the driving neck passes the token map on


def test_ee_off_with_edge_weights_and_frozen_with_trainable_norm_fail():
    cfg = tiny_focus_segmentor_cfg()
    cfg['neck'].update(with_edge=False, edge_pretrained='torchvision://resnet50')
    _fails(cfg, 'neck.with_edge=False', 'neck.edge_pretrained')
    cfg = tiny_focus_segmentor_cfg()
    cfg['backbone'].update(frozen=True, train_final_norm=True)
    _fails(cfg, 'backbone.frozen=True', 'backbone.train_final_norm=True')
    # the same mistake in an ablation config: EE off while the base still names the edge weights
    ablation = copy.deepcopy(_config(2, 'dinov2-l', 'cod'))
    ablation.model.neck.edge_pretrained = 'torchvision://resnet50'
    with torch.device('meta'):
        _fails(copy.deepcopy(ablation.model), 'neck.with_edge=False', 'neck.edge_pretrained')
