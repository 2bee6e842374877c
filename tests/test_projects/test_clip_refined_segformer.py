"""projects/clip_refined_segformer: mmseg's SegFormer (MiT) with CLIPRefinerLoss on its binary head."""
import copy

import pytest
import torch
from mmseg.models.backbones import MixVisionTransformer
from mmseg.registry import MODELS

from _project_helpers import (build_mini_model, check_binary_prediction, downloads_in, load_project_config,
                              predict, synthetic_data, train_two_iterations)
from _tiny_models import single_thread
from focus_mm.models.losses import CLIPRefinerLoss

CONFIG_DIR = 'projects/clip_refined_segformer/configs/'
MINI = CONFIG_DIR + 'clip-segformer_mit-b0_mini_1xb8-300_sod-256x256.py'
FULL = CONFIG_DIR + 'clip-segformer_mit-b2_2xb4-20k_sod-512x512.py'


def test_full_config_is_mmseg_segformer_b2_with_the_openai_clip_refiner():
    full = load_project_config(FULL)
    backbone = full.model.backbone
    assert backbone.type == 'MixVisionTransformer' and backbone.num_layers == [3, 4, 6, 3]
    assert backbone.init_cfg.checkpoint.endswith('mit_b2_20220624-66e8bf70.pth')
    head = full.model.decode_head
    assert head.type == 'CLIPRefinedSegformerHead' and head.in_channels == [64, 128, 320, 512]
    assert head.out_channels == 1 and head.loss_decode.use_sigmoid
    assert head.loss_clip.clip_model == 'ViT-B-16' and head.loss_clip.pretrained == 'openai'
    assert full.model.type == 'FocusSegmentor'


def test_mini_config_trains_two_iterations_and_predicts():
    cfg = load_project_config(MINI)
    assert downloads_in(cfg.model) == []
    with single_thread():
        model = build_mini_model(cfg)
        assert isinstance(model.backbone, MixVisionTransformer)
        assert isinstance(model.decode_head.loss_clip, CLIPRefinerLoss)
        # the frozen CLIP stays out of the module tree: not trained, not checkpointed
        assert not any('clip' in name for name in model.state_dict())
        logs, changed = train_two_iterations(model, cfg)
        results = predict(model)
    for log in logs:
        assert {'decode.loss_ce', 'decode.loss_clip'} <= set(log)
        assert all(torch.isfinite(v).all() for v in log.values())
        assert log['decode.loss_clip'] > 0
    for prefix in ('backbone.', 'decode_head.convs.', 'decode_head.conv_seg.'):
        assert any(n.startswith(prefix) for n in changed), prefix
    check_binary_prediction(results, 112)


def test_clip_loss_gradient_reaches_the_segformer_logits():
    """The CLIP term alone (decode loss weight 0) still moves the head: it is a real extra loss."""
    cfg = load_project_config(MINI)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.decode_head.loss_decode.loss_weight = 0.0
    with single_thread():
        model = MODELS.build(model_cfg)
        model.init_weights()
        data = model.data_preprocessor(synthetic_data(size=64), True)
        losses = model.loss(data['inputs'], data['data_samples'])
        losses['decode.loss_clip'].backward()
    grad = model.decode_head.conv_seg.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_multi_channel_output_is_refused_at_build():
    model_cfg = copy.deepcopy(load_project_config(MINI).model)
    model_cfg.decode_head.out_channels = 2
    model_cfg.decode_head.loss_decode.use_sigmoid = False
    with pytest.raises(ValueError, match='out_channels must be 1.*got out_channels=2'):
        MODELS.build(model_cfg)


def test_clip_loss_needs_images_from_focus_segmentor():
    cfg = load_project_config(MINI)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.type = 'EncoderDecoder'  # mmseg's own segmentor does not pass images=
    with single_thread():
        model = MODELS.build(model_cfg)
        data = model.data_preprocessor(synthetic_data(size=64), True)
        with pytest.raises(ValueError, match="needs the un-normalised images.*FocusSegmentor"):
            model.loss(data['inputs'][:, :3], data['data_samples'])
