"""One name per meaning (mmcv's): old argument names stop with a message that gives the new one."""
import pytest
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

from _tiny_models import NARROW_RESNET18, VIT_DIMS, tiny_head_cfg, tiny_pixel_decoder_cfg


def _refused(cfg, *phrases):
    with pytest.raises(TypeError) as info:
        MODELS.build(ConfigDict(cfg))
    for phrase in phrases:
        assert phrase in str(info.value), (phrase, str(info.value))


def _neck(**kwargs):
    return dict(type='EdgeEnhancerNeck', embed_dims=VIT_DIMS, num_heads=4, edge_backbone=dict(NARROW_RESNET18),
                norm_cfg=dict(type='BN'), **kwargs)


def test_neck_takes_num_points_and_dropout_and_refuses_the_old_names():
    neck = MODELS.build(ConfigDict(_neck(num_points=3, dropout=0.1)))
    attn = neck.interactions[0].injector.attn
    assert attn.num_points == 3 and neck.interactions[0].extractors[0].ffn.drop.p == 0.1
    _refused(_neck(n_points=3), '`n_points` is now `num_points`')
    _refused(_neck(drop=0.1), '`drop` is now `dropout`')
    _refused(_neck(n_points=3, drop=0.1), '`n_points` is now `num_points`', '`drop` is now `dropout`')


def test_pixel_decoder_takes_feedforward_channels_and_refuses_ffn_channels():
    cfg = tiny_pixel_decoder_cfg(in_channels=[8] * 4, feat_channels=16, out_channels=16, feedforward_channels=24,
                                 norm_cfg=dict(type='GN', num_groups=4))
    decoder = MODELS.build(ConfigDict(cfg))
    assert decoder.encoder[0].ffn[0].out_features == 24
    cfg.pop('feedforward_channels')
    _refused(dict(cfg, ffn_channels=24), '`ffn_channels` is now `feedforward_channels`')


def test_head_refuses_num_feature_levels_and_matcher():
    head = MODELS.build(ConfigDict(tiny_head_cfg([8] * 4)))
    assert head.num_feature_levels == head.pixel_decoder.num_levels == 3
    assert head.level_embed.weight.shape[0] == 3
    _refused(tiny_head_cfg([8] * 4, num_feature_levels=4), '`num_feature_levels` was removed', 'pixel decoder')
    _refused(tiny_head_cfg([8] * 4, matcher=dict(type='GroundQueryMatcher')), '`matcher` was removed',
             'HungarianAssigner')
