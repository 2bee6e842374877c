"""The modes for the authors' converted checkpoints: their token geometry, edge input and decision rule.

Each expected value is computed here from the definition (their code read for facts), not by calling
the implementation under test.
"""
import copy
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.config import Config
from mmseg.structures import SegDataSample

from focus_mm.datasets.transforms import EdgePrior
from focus_mm.models.backbones import DINOv2
from focus_mm.models.data_preprocessors import FocusDataPreProcessor
from focus_mm.models.decode_heads import ScoredPairMerge
from focus_mm.models.decode_heads.decision_rules import fuse_ground_predictions
from focus_mm.models.necks import EdgeEnhancerNeck
from _tiny_models import build_model, single_thread, tiny_focus_segmentor_cfg
from _tools import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
D = 32
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def tiny_backbone(geometry):
    arch = dict(embed_dims=D, num_layers=4, num_heads=2, feedforward_channels=64)
    backbone = DINOv2(arch=arch, img_size=42,
                      interaction_groups=[[0, 0], [1, 1], [2, 2], [3, 3]], token_geometry=geometry)
    backbone.init_weights()
    return backbone.eval()


def tiny_pair(geometry):
    backbone = tiny_backbone(geometry)
    neck = EdgeEnhancerNeck(embed_dims=D, num_heads=4, num_points=2, norm_cfg=dict(type='BN'),
                            edge_backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                                               out_indices=(0, 1, 2, 3), zero_init_residual=False))
    neck.init_weights()
    return backbone, neck.eval()


def fixed_image(height=60, width=50):
    """A deterministic BGR uint8 image with edges in every channel and values on both sides of the mean."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = np.where((xx // 7 + yy // 9) % 2 == 0, 40, 220)
    img[..., 1] = (np.hypot(yy - height / 2, xx - width / 3) < height / 4) * 170 + 60
    img[..., 2] = np.clip(xx * 255 // max(width - 1, 1) + (yy > height // 2) * 50, 0, 255)
    return img


# ---------------------------------------------------------------------------------------- token geometry
@pytest.mark.parametrize('geometry,grid', [('stretched', 36), ('padded', 37)])
def test_token_grid_at_512(geometry, grid):
    backbone = tiny_backbone(geometry)
    img = torch.randn(1, 3, 512, 512)
    with torch.no_grad():
        tokens, hw = backbone.prepare_tokens(img)
        # independent: the patch convolution over the image cut (authors) or zero-padded (ours) to 14 * grid
        weight, bias = backbone.patch_embed.projection.weight, backbone.patch_embed.projection.bias
        extra = max(0, 14 * grid - 512)
        canvas = F.pad(img, (0, extra, 0, extra))[..., :14 * grid, :14 * grid]
        patches = F.conv2d(canvas, weight, bias, stride=14).flatten(2).transpose(1, 2)
        pos_grid = backbone.pos_embed[:, 1:].reshape(1, 3, 3, D).permute(0, 3, 1, 2)
        pos = F.interpolate(pos_grid, size=(grid, grid), mode='bicubic',
                            align_corners=False).flatten(2).transpose(1, 2)
    assert hw == (grid, grid) and tokens.shape == (1, 1 + grid * grid, D)
    torch.testing.assert_close(tokens[:, 1:], patches + pos, atol=1e-5, rtol=1e-5)


def _capture_msda_calls(neck):
    calls = []

    def hook(module, args, kwargs):
        calls.append((module, kwargs['reference_points'].clone(), kwargs['spatial_shapes'].tolist()))

    handles = [m.register_forward_pre_hook(hook, with_kwargs=True) for m in neck.modules()
               if isinstance(m, MultiScaleDeformableAttention)]
    return calls, handles


@pytest.mark.parametrize('geometry', ['stretched', 'padded'])
def test_reference_points_at_512(geometry):
    """The reference points each injector / extractor really receives at 512 x 512."""
    backbone, neck = tiny_pair(geometry)
    calls, handles = _capture_msda_calls(neck)
    img = torch.randn(1, 3, 512, 512)
    with single_thread(), torch.no_grad():
        neck(backbone, img, torch.rand(1, 3, 512, 512))
    for handle in handles:
        handle.remove()
    injector = neck.interactions[0].injector.attn
    extractor = neck.interactions[0].extractors[0].attn
    inj_ref = next(ref for m, ref, _ in calls if m is injector)
    ext_ref, ext_shapes = next((ref, shapes) for m, ref, shapes in calls if m is extractor)
    grid = 36 if geometry == 'stretched' else 37
    assert ext_shapes == [[grid, grid]]
    centres = (torch.arange(grid) + 0.5)
    # injector: ViT token (i, j) -> x = ref[..., 0] of token j in row 0, for each of the 3 edge levels
    first_row = inj_ref[0, :grid]  # grid x 3 x 2
    if geometry == 'stretched':  # stretched: (j + 0.5) / 36 in every level
        expected = (centres / grid)[:, None].expand(-1, 3)
    else:  # pixel position (j + 0.5) * 14 over each level's extent (64 * 8 = 32 * 16 = 16 * 32 = 512)
        expected = (centres * 14 / 512)[:, None].expand(-1, 3)
    torch.testing.assert_close(first_row[..., 0], expected)
    torch.testing.assert_close(first_row[..., 1], torch.full((grid, 3), 0.5 / grid if geometry == 'stretched'
                                                             else 7 / 512))
    # extractor: edge cell (i, j) of the stride-8 level (64 x 64) -> one point in the token level
    c2_first_row = ext_ref[0, :64, 0]  # 64 x 2
    cells = torch.arange(64) + 0.5
    expected_x = cells / 64 if geometry == 'stretched' else cells * 8 / (grid * 14)
    torch.testing.assert_close(c2_first_row[:, 0], expected_x)
    # the stride-32 level's last cell
    last = ext_ref[0, -1, 0]
    expected_last = torch.full((2, ), 15.5 / 16 if geometry == 'stretched' else 15.5 * 32 / 518)
    torch.testing.assert_close(last, expected_last)


def test_stretched_geometry_resizes_group_maps_by_stretching(monkeypatch):
    """The 36 x 36 group maps are resized onto the 128/64/32/16 grids with F.interpolate (bilinear,
    half-pixel, no border offset), i.e. each stretched over the whole input."""
    backbone, neck = tiny_pair('stretched')
    seen = []
    original = F.interpolate

    def recording(input, size=None, **kwargs):
        if input.dim() == 4 and tuple(input.shape[-2:]) == (36, 36) and input.shape[1] == D:
            seen.append((tuple(size), kwargs.get('mode'), kwargs.get('align_corners')))
        return original(input, size=size, **kwargs)

    monkeypatch.setattr(F, 'interpolate', recording)
    with single_thread(), torch.no_grad():
        feats = neck(backbone, torch.randn(1, 3, 512, 512), torch.rand(1, 3, 512, 512))
    assert seen == [((128, 128), 'bilinear', False), ((64, 64), 'bilinear', False),
                    ((32, 32), 'bilinear', False), ((16, 16), 'bilinear', False)]
    assert [tuple(f.shape[-2:]) for f in feats] == [(128, 128), (64, 64), (32, 32), (16, 16), (36, 36)]


def test_geometries_agree_at_a_multiple_of_14_and_32():
    """At 224 (16 tokens of 14 = 7 cells of 32) both geometries place every grid identically."""
    torch.manual_seed(0)
    backbone, neck = tiny_pair('padded')
    img, edge = torch.randn(1, 3, 224, 224), torch.rand(1, 3, 224, 224)
    with single_thread(), torch.no_grad():
        ours = neck(backbone, img, edge)
        backbone.token_geometry = 'stretched'
        theirs = neck(backbone, img, edge)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_unknown_geometry_is_refused():
    with pytest.raises(ValueError, match='token_geometry'):
        DINOv2(arch='small', token_geometry='cropped')


# ---------------------------------------------------------------------------------------------- edge input
def _normalised_halves(out):
    return out[0, :3].permute(1, 2, 0).numpy(), out[0, 3:6].permute(1, 2, 0).numpy()


def test_our_edge_input_matches_its_definition():
    """Ours: grayscale Canny of the raw image, blended onto it, RGB, ImageNet-normalised."""
    bgr = fixed_image()
    packed = EdgePrior()(dict(img=bgr.copy()))['img']
    pre = FocusDataPreProcessor(size_divisor=None)
    out = pre(dict(inputs=[torch.from_numpy(packed).permute(2, 0, 1)]), training=False)['inputs']
    gray = cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (5, 5), 1.4)
    edges = cv2.Canny(gray, 100, 200).astype(np.float32)
    assert edges.max() == 255  # the fixed image has edges
    blend = np.rint(0.7 * bgr.astype(np.float32) + 0.3 * edges[..., None]).clip(0, 255)
    expected = (blend[..., ::-1] - MEAN) / STD
    _, got = _normalised_halves(out)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_preprocessor_edge_input_matches_their_definition():
    """Theirs: from the normalised, padded image x 255 (uint8, truncated), BGR, blurred, Canny per
    channel, 0.7 blurred + 0.3 edges, / 255 (no normalisation)."""
    bgr = fixed_image(60, 50)  # padded to 64 x 64: the border with the padding takes part
    pre = FocusDataPreProcessor(size_divisor=32, edge_input='preprocessor')
    out = pre(dict(inputs=[torch.from_numpy(bgr).permute(2, 0, 1)]), training=False)['inputs']
    assert out.shape == (1, 6, 64, 64)
    normalised = np.zeros((64, 64, 3), np.float32)
    normalised[:60, :50] = (bgr[..., ::-1].astype(np.float32) - MEAN) / STD
    pixels = np.clip(normalised * np.float32(255) + np.float32(0.5), 0, 255).astype(np.uint8)
    assert 0 < (pixels == 255).mean() < 1 and (pixels == 0).any()  # saturated on both sides
    their_bgr = np.ascontiguousarray(pixels[..., ::-1])
    blurred = cv2.GaussianBlur(their_bgr, (5, 5), 1.4)
    edges = np.stack([cv2.Canny(np.ascontiguousarray(blurred[..., c]), 100, 200) for c in range(3)], -1)
    assert len({int(edges[..., c].sum()) for c in range(3)}) > 1  # the channels' edges differ
    blend = np.rint(0.7 * blurred.astype(np.float32) + 0.3 * edges.astype(np.float32)).clip(0, 255)
    expected = (blend / 255.0).astype(np.float32)
    image_half, got = _normalised_halves(out)
    np.testing.assert_allclose(image_half, normalised, atol=1e-6)  # the image half is unchanged
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert got[60:, :].max() > 0  # the padding got a value from the blur / the edges at its border


def test_preprocessor_edge_input_refuses_an_edge_prior_pipeline():
    packed = EdgePrior()(dict(img=fixed_image()))['img']
    pre = FocusDataPreProcessor(edge_input='preprocessor')
    with pytest.raises(ValueError, match='remove EdgePrior'):
        pre(dict(inputs=[torch.from_numpy(packed).permute(2, 0, 1)]), training=False)
    with pytest.raises(ValueError, match='edge_input'):
        FocusDataPreProcessor(edge_input='canny')


# ------------------------------------------------------------------------------------------- decision rule
def their_merge(cls, mask_logits_ori):
    """Their ``instance_inference`` + ``_merge_mask`` on one image (masks at the original size)."""
    scores = cls.softmax(-1)[:, :2]  # Q x 2
    soft = mask_logits_ori.sigmoid()
    mask_scores = (soft.flatten(1) * soft.flatten(1)).sum(1) / (soft.flatten(1).sum(1) + 1e-6)
    entries = [(float(scores[q, c] * mask_scores[q]), c, q) for q in range(2) for c in range(2)]
    chosen_cls, chosen = [], []
    last = -1
    for score, c, q in entries:
        if len(chosen_cls) < 2 and score > 0.5 and c != last:
            chosen_cls.append(c), chosen.append(soft[q])
            last = c
    if len(chosen_cls) < 2:
        score, c, q = max(entries, key=lambda e: e[0])
        return ((soft[q] > 0.5), 'fallback_fg') if c == 0 else ((soft[q] < 0.5), 'fallback_bg')
    first, second = chosen
    if chosen_cls[0] == 0:
        first, second = second, first
    return second > first, 'both'


@pytest.fixture(scope='module')
def rule_models():
    """The tiny FOCUS model with the authors' decision rule, and with ours (the default)."""
    torch.manual_seed(1)
    cfg = tiny_focus_segmentor_cfg(prior=False)
    cfg['test_cfg'] = dict(mode='whole', decision_rule='scored_pair_merge')
    return build_model(cfg).eval(), build_model(tiny_focus_segmentor_cfg(prior=False)).eval()


@pytest.mark.parametrize('case', ['both', 'fallback_fg', 'fallback_bg'])
def test_scored_pair_merge_end_to_end(case, rule_models):
    """Through FocusSegmentor.predict (padding crop, resize to the original size), against their rule."""
    model, joint_model = rule_models
    # synthetic last prediction set at stride 4 of a 64 x 64 padded input (image 60 x 50, original 90 x 75)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing='ij')
    masks = torch.stack([4 * (0.5 - yy**2 - xx**2), 4 * (yy**2 + xx**2 - 0.5) + 0.4])[None]
    cls = {'both': [[4.0, 0.0, 0.0], [0.0, 2.5, 0.0]],  # q0 foreground, q1 background, both > 0.5
           'fallback_fg': [[3.0, 0.0, 0.0], [2.0, 0.0, 0.0]],  # two foreground pairs: the best decides
           'fallback_bg': [[0.0, 0.0, 3.0], [0.0, 0.7, 0.0]]}[case]  # nothing above 0.5: best is bg
    cls = torch.tensor(cls)[None]
    outputs = ([cls], [masks], [torch.zeros(1, 2, 4)])
    sample = SegDataSample()
    sample.set_metainfo(dict(ori_shape=(90, 75), img_shape=(60, 50), pad_shape=(64, 64),
                             img_padding_size=[0, 14, 0, 4]))
    for m in (model, joint_model):  # the head returns this set whatever the features
        m.decode_head.forward = lambda inputs, batch_img_metas=None, _outputs=outputs: _outputs
    inputs = torch.randn(1, 6, 64, 64)
    with single_thread(), torch.no_grad():
        ours = model.predict(inputs, [copy.deepcopy(sample)])[0]
        joint = joint_model.predict(inputs, [copy.deepcopy(sample)])[0]
    full = F.interpolate(masks, size=(64, 64), mode='bilinear', align_corners=False)[..., :60, :50]
    ori = F.interpolate(full, size=(90, 75), mode='bilinear', align_corners=False)[0]
    expected, branch = their_merge(cls[0], ori)
    expected = expected.float()
    assert branch == case
    assert ours.pred_sem_seg.data.shape == (1, 90, 75)
    assert torch.equal(ours.pred_sem_seg.data[0], expected)
    assert torch.equal(ours.seg_logits.data[0], expected)  # the probability map is their binary mask
    assert 0 < expected.mean() < 1
    if case == 'both':  # no class weighting: differs from our joint rule on some pixels
        assert (joint.pred_sem_seg.data[0].bool() != expected.bool()).any()


def test_choose_pairs():
    choice = ScoredPairMerge.choose_pairs
    assert choice(torch.tensor([[0.1, 0.8], [0.7, 0.1]])) == (1, 0)
    assert choice(torch.tensor([[0.6, 0.1], [0.9, 0.05]])) == (1, None)  # two fg pairs: best alone
    assert choice(torch.tensor([[0.2, 0.3], [0.1, 0.45]])) == (None, 1)  # none above 0.5: best is bg
    assert choice(torch.tensor([[0.55, 0.2], [0.3, 0.1]])) == (0, None)


def test_scored_pair_merge_refuses_slide_and_unknown_rules():
    cfg = tiny_focus_segmentor_cfg(prior=False)
    cfg['test_cfg'] = dict(mode='slide', crop_size=(64, 64), stride=(32, 32),
                           decision_rule='scored_pair_merge')
    with pytest.raises(ValueError, match="mode='whole'"):
        build_model(cfg)
    cfg['test_cfg'] = dict(mode='whole', decision_rule='merge')
    with pytest.raises(ValueError, match='decision_rule'):
        build_model(cfg)


# ---------------------------------------------------------------------------------------------- defaults
def test_defaults_are_ours():
    arch = dict(embed_dims=D, num_layers=4, num_heads=2, feedforward_channels=64)
    assert DINOv2(arch=arch).token_geometry == 'padded'
    assert FocusDataPreProcessor().edge_input == 'pipeline'
    model = build_model(tiny_focus_segmentor_cfg(prior=False)).eval()
    images = torch.randn(1, 6, 64, 64)
    sample = SegDataSample()
    sample.set_metainfo(dict(ori_shape=(64, 64), img_shape=(64, 64), pad_shape=(64, 64)))
    with single_thread(), torch.no_grad():
        logits = model.decode_head.forward(model.extract_feat(images))
        result = model.predict(images, [sample])[0]
    joint = fuse_ground_predictions(
        logits[0][-1], F.interpolate(logits[1][-1], size=(64, 64), mode='bilinear', align_corners=False))
    torch.testing.assert_close(result.seg_logits.data, joint[0].sigmoid())


# ------------------------------------------------------------------------------------------------ configs
CONVERTED_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'focus', 'converted_checkpoints', '*.py')))


def test_one_config_per_converted_model():
    names = {osp.basename(p) for p in CONVERTED_CONFIGS}
    assert names == {f'focus_{size}_{task}.py' for size in ('large', 'giant')
                     for task in ('cod', 'sod', 'sd', 'dbd', 'fd')}


@pytest.mark.parametrize('path', CONVERTED_CONFIGS, ids=osp.basename)
def test_converted_checkpoint_config_settings(path):
    cfg = Config.fromfile(path)
    model = cfg.model
    assert model.backbone.token_geometry == 'stretched'
    assert model.data_preprocessor.edge_input == 'preprocessor'
    assert model.test_cfg.decision_rule == 'scored_pair_merge'
    assert model.decode_head.prior_index is None and model.decode_head.loss_clip is None
    assert model.backbone.arch == ('giant' if '_giant_' in path else 'large')
    loaders = [cfg.test_dataloader.dataset, cfg.val_dataloader.dataset]
    datasets = [d for loader in loaders for d in loader.get('datasets', [loader])]
    assert datasets and cfg.test_pipeline
    for pipeline in [cfg.test_pipeline] + [d.pipeline for d in datasets]:
        types = [t['type'] for t in pipeline]
        assert 'EdgePrior' not in types, path
        assert pipeline[0].get('imdecode_backend') == 'pillow'
        assert next(t for t in pipeline if t['type'] == 'Resize').get('backend') == 'pillow'


def test_converted_checkpoint_config_takes_the_converted_checkpoint():
    """The model of a converted-checkpoint config (built on meta) has exactly the keys and shapes the
    converter checks against."""
    conv = load_tool('model_converters', 'focus_official_to_mm')
    converted = conv.reference_shapes(
        osp.join(REPO, 'configs/focus/converted_checkpoints/focus_large_sod.py'))
    train = conv.reference_shapes(osp.join(REPO, 'configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py'))
    assert converted == train and len(converted) > 1000
