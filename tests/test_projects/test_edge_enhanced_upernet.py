"""projects/edge_enhanced_upernet: DINOv2 + EdgeEnhancerNeck feeding mmseg's UPerHead (binary)."""
import copy

import pytest
import torch
from mmseg.models.decode_heads import FCNHead, UPerHead
from mmseg.registry import MODELS

from _project_helpers import (build_mini_model, check_binary_prediction, downloads_in, load_project_config,
                              predict, synthetic_data, train_two_iterations)
from _tiny_models import single_thread
from focus_mm.models.backbones import DINOv2
from focus_mm.models.necks import EdgeEnhancerNeck

CONFIG_DIR = 'projects/edge_enhanced_upernet/configs/'
MINI = CONFIG_DIR + 'edge-upernet_mini_1xb8-300_sod-256x256.py'
FULL = CONFIG_DIR + 'edge-upernet_dinov2-l_2xb4-20k_sod-512x512.py'


def test_full_config_inherits_focus_and_swaps_only_the_heads():
    full, focus = load_project_config(FULL), load_project_config(
        'configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py')
    assert full.model.backbone == focus.model.backbone and full.model.neck == focus.model.neck
    assert full.model.decode_head.type == 'UPerHead' and full.model.decode_head.in_channels == [1024] * 4
    assert full.model.decode_head.out_channels == 1 and full.model.decode_head.loss_decode.use_sigmoid
    assert full.train_dataloader == focus.train_dataloader and full.optim_wrapper == focus.optim_wrapper


def test_mini_config_trains_two_iterations_and_predicts():
    cfg = load_project_config(MINI)
    assert downloads_in(cfg.model) == []
    with single_thread():
        model = build_mini_model(cfg)
        assert isinstance(model.backbone, DINOv2) and isinstance(model.neck, EdgeEnhancerNeck)
        assert isinstance(model.decode_head, UPerHead) and isinstance(model.auxiliary_head, FCNHead)
        logs, changed = train_two_iterations(model, cfg)
        results = predict(model)
    for log in logs:
        assert {'decode.loss_ce', 'aux.loss_ce'} <= set(log)
        assert all(torch.isfinite(v).all() for v in log.values())
    # the gradient of UPerHead's loss reaches through the neck's interaction modules into the ViT
    for prefix in ('backbone.', 'neck.edge_backbone.', 'neck.interactions.', 'decode_head.',
                   'auxiliary_head.'):
        assert any(n.startswith(prefix) for n in changed), prefix
    check_binary_prediction(results, 112)


def test_neck_width_mismatch_fails_at_first_forward_with_both_widths():
    cfg = load_project_config(MINI)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.neck.embed_dims = 48  # the backbone stays at 96
    model_cfg.decode_head.in_channels = [48] * 4
    model_cfg.auxiliary_head.in_channels = 48
    with single_thread():
        model = MODELS.build(model_cfg)
        data = model.data_preprocessor(synthetic_data(size=64), True)
        with pytest.raises(ValueError, match=r'embed_dims=48.*embed_dims=96'):
            model.extract_feat(data['inputs'])
