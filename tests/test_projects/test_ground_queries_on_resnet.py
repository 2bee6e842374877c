"""projects/ground_queries_on_resnet: mmseg's ResNetV1c feeding FocusPixelDecoder + GroundQueryHead."""
import copy
import os.path as osp

import mmseg
import pytest
import torch
from mmengine.config import Config
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS

from _project_helpers import (build_mini_model, check_binary_prediction, downloads_in, load_project_config,
                              predict, synthetic_data, train_two_iterations)
from _tiny_models import single_thread, synthetic_foreground_batch
from focus_mm.models.decode_heads import GroundQueryHead

CONFIG_DIR = 'projects/ground_queries_on_resnet/configs/'
MINI = CONFIG_DIR + 'ground-queries_r18-v1c_mini_1xb8-300_sod-256x256.py'
FULL = CONFIG_DIR + 'ground-queries_r50-v1c_2xb4-20k_sod-512x512.py'


def test_full_config_keeps_mmseg_resnet50_and_turns_m0_off():
    full = load_project_config(FULL)
    mmseg_configs = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
    upernet = Config.fromfile(osp.join(mmseg_configs, '_base_', 'models', 'upernet_r50.py'))
    assert full.model.backbone == upernet.model.backbone  # mmseg's ResNetV1c-50, inherited unchanged
    assert full.model.pretrained == upernet.model.pretrained == 'open-mmlab://resnet50_v1c'
    assert 'neck' not in full.model and full.model.auxiliary_head is None
    assert full.model.decode_head.type == 'GroundQueryHead' and full.model.decode_head.prior_index is None
    assert full.model.decode_head.in_channels == [256, 512, 1024, 2048]
    assert full.model.decode_head.loss_clip.pretrained == 'openai'


def test_mini_config_trains_two_iterations_and_predicts():
    cfg = load_project_config(MINI)
    assert downloads_in(cfg.model) == []
    with single_thread():
        model = build_mini_model(cfg)
        assert isinstance(model.backbone, ResNetV1c) and not model.with_neck
        assert isinstance(model.decode_head, GroundQueryHead) and model.decode_head.prior_index is None
        logs, changed = train_two_iterations(model, cfg)
        results = predict(model)
    for log in logs:
        assert {'decode.loss_cls', 'decode.loss_mask', 'decode.loss_dice', 'decode.d0.loss_cls'} <= set(log)
        assert all(torch.isfinite(v).all() for v in log.values())
    for prefix in ('backbone.', 'decode_head.pixel_decoder.', 'decode_head.layers.',
                   'decode_head.query_feat'):
        assert any(n.startswith(prefix) for n in changed), prefix
    check_binary_prediction(results, 112)


def _mini_model_cfg(**backbone):
    model_cfg = copy.deepcopy(load_project_config(MINI).model)
    model_cfg.backbone.update(backbone)
    return model_cfg


def test_resnet50_channels_on_resnet18_fail_at_first_forward_naming_both_shapes():
    model_cfg = _mini_model_cfg()
    model_cfg.decode_head.in_channels = [256, 512, 1024, 2048]  # ResNet-50's, but the backbone is -18
    with single_thread():
        model = MODELS.build(model_cfg)
        data = model.data_preprocessor(synthetic_data(size=64), True)
        expected = r'input 0 has shape \(2, 64, 16, 16\); expected B x 256 x H x W'
        with pytest.raises(ValueError, match=expected):
            model.loss(data['inputs'], data['data_samples'])


def test_three_levels_fail_at_first_forward_naming_what_came():
    model_cfg = _mini_model_cfg(out_indices=(1, 2, 3))
    with single_thread():
        model = MODELS.build(model_cfg)
        data = model.data_preprocessor(synthetic_data(size=64), True)
        expected = r'gave 3: \[\(2, 128, 8, 8\).*in_channels=\[64, 128, 256, 512\]'
        with pytest.raises(ValueError, match=expected):
            model.loss(data['inputs'], data['data_samples'])


def test_three_in_channels_fail_at_build():
    model_cfg = _mini_model_cfg()
    model_cfg.decode_head.in_channels = [128, 256, 512]
    with pytest.raises(ValueError, match=r'4 levels.*in_channels=\[128, 256, 512\]'):
        MODELS.build(model_cfg)


def test_head_runs_in_mmseg_encoder_decoder_on_plain_images():
    """With CLIP off, nothing FOCUS-specific is needed around the head: mmseg's own segmentor works."""
    model_cfg = _mini_model_cfg()
    model_cfg.type = 'EncoderDecoder'
    model_cfg.data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                       std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=32)
    with single_thread():
        model = MODELS.build(model_cfg)
        model.init_weights()
        images, samples = synthetic_foreground_batch(2, 64)
        data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
        assert data['inputs'].shape == (2, 3, 64, 64)
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        logits = model.predict(data['inputs'], data['data_samples'])[0].seg_logits.data
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert logits.shape == (1, 64, 64) and 0 <= logits.min() and logits.max() <= 1
