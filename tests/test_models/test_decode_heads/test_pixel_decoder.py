"""FocusPixelDecoder: Mask2Former layout, shapes, gradients, bad input."""
import math

import pytest
import torch

from focus_mm.models.decode_heads import FocusPixelDecoder
from focus_mm.models.utils import cell_centre_reference_points


def tiny_decoder(**kwargs) -> FocusPixelDecoder:
    cfg = dict(in_channels=[16, 24, 32, 40], feat_channels=32, out_channels=24, num_encoder_layers=2,
               num_heads=4, feedforward_channels=64, norm_cfg=dict(type='GN', num_groups=8))
    cfg.update(kwargs)
    decoder = FocusPixelDecoder(**cfg)
    decoder.init_weights()
    return decoder


def _pyramid(h, w, channels=(16, 24, 32, 40), batch=2):
    return [torch.randn(batch, c, math.ceil(h / s), math.ceil(w / s))
            for c, s in zip(channels, (4, 8, 16, 32))]


@pytest.mark.parametrize('size', [(64, 64), (96, 160), (257, 383)])
def test_output_shapes_lowest_resolution_first(size):
    decoder = tiny_decoder().eval()
    feats = _pyramid(*size)
    with torch.no_grad():
        mask_features, multi_scale = decoder(feats)
    assert mask_features.shape == (2, 24, *feats[0].shape[-2:])
    assert [m.shape for m in multi_scale] == [(2, 32, *f.shape[-2:]) for f in (feats[3], feats[2], feats[1])]


def test_mask2former_layout_and_full_size_count():
    decoder = tiny_decoder()
    assert len(decoder.encoder) == 2 and decoder.level_embed.weight.shape == (3, 32)
    assert [p[0].in_channels for p in decoder.input_projs] == [40, 32, 24]  # s32, s16, s8
    assert decoder.input_projs[0][0].bias is not None and decoder.lateral_conv[0].bias is None
    attn = decoder.encoder[0].self_attn
    assert (attn.num_heads, attn.num_levels, attn.num_points) == (4, 3, 4)
    with torch.device('meta'):
        full = FocusPixelDecoder(in_channels=[1024] * 4)
    assert sum(p.numel() for p in full.parameters()) == 6_101_440  # authors' DINOv2-L pixel decoder


def test_every_parameter_gets_a_gradient():
    decoder = tiny_decoder().train()
    with torch.no_grad():  # mmcv zero-initialises these, which zeroes the gradient into the encoder norms
        for layer in decoder.encoder:
            layer.self_attn.sampling_offsets.weight.normal_(std=0.02)
            layer.self_attn.attention_weights.weight.normal_(std=0.02)
    mask_features, multi_scale = decoder(_pyramid(64, 96))
    (mask_features.square().mean() + sum(m.square().mean() for m in multi_scale)).backward()
    for name, p in decoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_encoder_reference_points_are_cell_centres():
    ref = cell_centre_reference_points([(2, 4), (1, 2)], 3, torch.device('cpu'))
    assert ref.shape == (1, 10, 3, 2)
    torch.testing.assert_close(ref[0, 0, 0], torch.tensor([0.125, 0.25]))
    torch.testing.assert_close(ref[0, 9, 2], torch.tensor([0.75, 0.5]))


def test_bad_inputs_name_the_expected_shape():
    decoder = tiny_decoder()
    with pytest.raises(ValueError, match='4 maps'):
        decoder(_pyramid(64, 64)[:3])
    feats = _pyramid(64, 64)
    feats[2] = torch.randn(2, 7, 4, 4)
    with pytest.raises(ValueError, match=r'input 2 has shape \(2, 7, 4, 4\).*B x 32 x H x W'):
        decoder(feats)
    with pytest.raises(ValueError, match='4 input levels'):
        FocusPixelDecoder(in_channels=[32, 32, 32])
