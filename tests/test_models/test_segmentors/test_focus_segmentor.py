import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from torch import nn

from _tiny_models import (RESNET_CHANNELS, VIT_DIMS, build_model, foreground_iou,
                          synthetic_foreground_batch, tiny_clip_loss_cfg, tiny_focus_segmentor_cfg,
                          tiny_resnet_segmentor_cfg)
from focus_mm.models.segmentors import FocusSegmentor


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@MODELS.register_module(force=True)
class _RecordingDrivingNeck(nn.Module):
    """Test stand-in for an interaction neck: runs the backbone itself and records the edge input."""
    drives_backbone = True

    def __init__(self):
        super().__init__()
        self.seen = None

    def forward(self, backbone, img, edge):
        self.seen = (img, edge)
        return backbone(img)


def _batch(model, num_images=2, size=64, training=True, channels=3, seed=0):
    images, samples = synthetic_foreground_batch(num_images, size, seed=seed, channels=channels)
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), training)


def test_three_channel_training_with_a_plain_backbone():
    model = build_model(tiny_resnet_segmentor_cfg(loss_clip=tiny_clip_loss_cfg()))
    assert isinstance(model, FocusSegmentor)
    data = _batch(model)
    feats = model.extract_feat(data['inputs'])
    assert [f.shape[1] for f in feats] == RESNET_CHANNELS
    losses = model.loss(**data)
    assert {'decode.loss_cls', 'decode.loss_mask', 'decode.loss_clip', 'decode.d0.loss_dice'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())


def test_six_channel_input_feeds_the_edge_half_to_a_driving_neck():
    cfg = tiny_resnet_segmentor_cfg()
    cfg['neck'] = dict(type='_RecordingDrivingNeck')
    cfg['data_preprocessor']['bgr_to_rgb'] = False  # mmseg's preprocessor only converts 3 channels
    model = build_model(cfg)
    inputs = torch.randn(2, 6, 64, 64)
    model.extract_feat(inputs)
    img, edge = model.neck.seen
    assert torch.equal(img, inputs[:, :3]) and torch.equal(edge, inputs[:, 3:])
    with pytest.raises(ValueError, match=r'\(2, 4, 64, 64\).*EdgePrior'):
        model.extract_feat(torch.randn(2, 4, 64, 64))


def test_unnormalized_images_recover_the_rgb_pixels():
    model = build_model(tiny_resnet_segmentor_cfg())
    images, samples = synthetic_foreground_batch(2, 64)
    data = model.data_preprocessor(dict(inputs=copy.deepcopy(images), data_samples=samples), True)
    rgb = model.unnormalized_images(data['inputs'])
    expected = torch.stack(images).flip(1) / 255.0  # BGR -> RGB
    assert rgb.shape == (2, 3, 64, 64) and torch.allclose(rgb, expected, atol=1e-4)


def test_heads_without_images_argument_still_train():
    cfg = tiny_resnet_segmentor_cfg()
    cfg['decode_head'] = dict(type='UPerHead', in_channels=RESNET_CHANNELS, in_index=[0, 1, 2, 3],
                              pool_scales=(1, 2), channels=16, num_classes=2, out_channels=1, threshold=0.5,
                              loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    model = build_model(cfg)
    losses = model.loss(**_batch(model))
    assert torch.isfinite(losses['decode.loss_ce'])


def test_clip_is_neither_in_checkpoints_nor_in_the_optimizer():
    model = build_model(tiny_resnet_segmentor_cfg(loss_clip=tiny_clip_loss_cfg()))
    clip = model.decode_head.loss_clip.clip
    assert not any(k.startswith('decode_head.loss_clip') for k in model.state_dict())
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    optimised = {id(p) for group in optim.optimizer.param_groups for p in group['params']}
    assert optimised and not optimised & {id(p) for p in clip.parameters()}
    assert all(not p.requires_grad for p in clip.parameters())


def test_prediction_is_deterministic_and_joint():
    model = build_model(tiny_resnet_segmentor_cfg())
    model.eval()
    data = _batch(model, training=False)
    with torch.no_grad():
        first = model.predict(**copy.deepcopy(data))
        second = model.predict(**copy.deepcopy(data))
    for a, b in zip(first, second):
        prob, pred = a.seg_logits.data, a.pred_sem_seg.data
        assert prob.shape == pred.shape == (1, 64, 64)
        assert torch.equal(prob, b.seg_logits.data) and torch.equal(pred, b.pred_sem_seg.data)
        assert prob.min() >= 0 and prob.max() <= 1
        assert torch.equal(pred.bool(), prob > 0.5)


def test_full_tiny_focus_trains_and_predicts_with_edges_and_prior():
    model = build_model(tiny_focus_segmentor_cfg(prior=True, loss_clip=tiny_clip_loss_cfg()))
    data = _batch(model, channels=6)
    assert data['inputs'].shape == (2, 6, 64, 64)
    feats = model.extract_feat(data['inputs'])
    assert len(feats) == 5 and feats[4].shape[:2] == (2, VIT_DIMS)  # 4 maps + the DINOv2 token map
    losses = model.loss(**data)
    assert 'decode.loss_clip' in losses and all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        results = model.predict(**_batch(model, channels=6, training=False))
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)


@pytest.mark.parametrize('fill', [0, 1])
def test_batches_of_empty_or_full_masks_train_without_nan(fill):
    model = build_model(tiny_focus_segmentor_cfg(loss_clip=tiny_clip_loss_cfg()))
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    images, samples = synthetic_foreground_batch(2, 64, channels=6)
    for sample in samples:
        sample.gt_sem_seg.data.fill_(fill)
    for _ in range(2):
        log = model.train_step(copy.deepcopy(dict(inputs=images, data_samples=samples)), optim)
        assert all(torch.isfinite(v) for v in log.values())
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_mixed_precision_keeps_losses_and_prediction_in_float32():
    model = build_model(tiny_focus_segmentor_cfg(loss_clip=tiny_clip_loss_cfg()))
    data = _batch(model, channels=6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(**data)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        result = model.predict(**_batch(model, channels=6, training=False))[0]
    assert result.seg_logits.data.dtype == torch.float32


def test_slide_inference_gives_the_joint_map():
    cfg = tiny_resnet_segmentor_cfg()
    cfg['test_cfg'] = dict(mode='slide', crop_size=(64, 64), stride=(32, 32))
    model = build_model(cfg)
    model.eval()
    images, samples = synthetic_foreground_batch(1, 96)
    with torch.no_grad():
        result = model.test_step(dict(inputs=images, data_samples=samples))[0]
    prob, pred = result.seg_logits.data, result.pred_sem_seg.data
    assert prob.shape == pred.shape == (1, 96, 96)
    assert torch.equal(pred.bool(), prob > 0.5)


def test_missing_checkpoints_fail_when_the_model_is_built(tmp_path):
    clip = tiny_clip_loss_cfg(model_cfg=None, pretrained=str(tmp_path / 'clip.pt'))
    cfg = tiny_focus_segmentor_cfg(loss_clip=clip)
    with pytest.raises(FileNotFoundError, match=r'clip\.pt.*not found.*pretrained='):
        MODELS.build(cfg)
    cfg = tiny_focus_segmentor_cfg()
    missing = str(tmp_path / 'dinov2_vitl14.pth')
    cfg['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint=missing, prefix='backbone.')
    with pytest.raises(FileNotFoundError, match='dinov2_vitl14.pth.*download.openmmlab.com'):
        MODELS.build(cfg)


@pytest.mark.parametrize('kind', ['focus', 'resnet'])
def test_tiny_model_overfits_one_batch(kind):
    """The whole loss stack (matching, CE, point BCE/dice, boxes, CLIP) learns: IoU > 0.9 in <= 200 steps.

    ``focus``: tiny DINOv2 + EdgeEnhancerNeck (6-channel EdgePrior input), M0 on; ``resnet``: a plain
    mmseg backbone without neck, M0 off. Both with the tiny random CLIP refiner.
    """
    torch.manual_seed(0)
    make_cfg = tiny_focus_segmentor_cfg if kind == 'focus' else tiny_resnet_segmentor_cfg
    model = build_model(make_cfg(loss_clip=tiny_clip_loss_cfg(), num_decoder_layers=2, num_points=2048))
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.0)))
    images, samples = synthetic_foreground_batch(4, 128, seed=3, channels=6 if kind == 'focus' else 3)
    batch = dict(inputs=images, data_samples=samples)
    worst_iou = 0.0
    for step in range(200):
        model.train()
        log = model.train_step(copy.deepcopy(batch), optim)
        assert torch.isfinite(log['loss']), step
        if step % 10 == 9:
            model.eval()
            with torch.no_grad():
                results = model.test_step(copy.deepcopy(batch))
            worst_iou = min(foreground_iou(r.pred_sem_seg.data[0], s.gt_sem_seg.data[0])
                            for r, s in zip(results, samples))
            if worst_iou > 0.9:
                break
    assert worst_iou > 0.9, f'worst IoU after {step + 1} steps: {worst_iou:.3f}'
