"""Argument names shared with mmcv/mmseg (one name per meaning) reach the layers they configure."""
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

from _tiny_models import NARROW_RESNET18, VIT_DIMS, tiny_head_cfg, tiny_pixel_decoder_cfg


def _neck(**kwargs):
    return dict(type='EdgeEnhancerNeck', embed_dims=VIT_DIMS, num_heads=4,
                edge_backbone=dict(NARROW_RESNET18), norm_cfg=dict(type='BN'), **kwargs)


def test_neck_takes_num_points_and_dropout():
    neck = MODELS.build(ConfigDict(_neck(num_points=3, dropout=0.1)))
    attn = neck.interactions[0].injector.attn
    assert attn.num_points == 3 and neck.interactions[0].extractors[0].ffn.drop.p == 0.1


def test_pixel_decoder_takes_feedforward_channels():
    cfg = tiny_pixel_decoder_cfg(in_channels=[8] * 4, feat_channels=16, out_channels=16,
                                 feedforward_channels=24, norm_cfg=dict(type='GN', num_groups=4))
    decoder = MODELS.build(ConfigDict(cfg))
    assert decoder.encoder[0].ffn[0].out_features == 24


def test_head_levels_follow_the_pixel_decoder():
    head = MODELS.build(ConfigDict(tiny_head_cfg([8] * 4)))
    assert head.num_feature_levels == head.pixel_decoder.num_levels == 3
    assert head.level_embed.weight.shape[0] == 3
