"""DINOv2 backbone: shapes, padding rule, freezing, checkpointing, strict pretrained loading."""
import math

import pytest
import torch
import torch.nn.functional as F

from focus_mm.models.backbones import DINOv2
from focus_mm.models.backbones.dinov2 import DINOV2_URLS

TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
GROUPS = [[0, 0], [1, 1], [2, 2], [3, 3]]


def tiny_dinov2(**kwargs) -> DINOv2:
    cfg = dict(arch=TINY_ARCH, img_size=42, interaction_groups=GROUPS)
    cfg.update(kwargs)
    model = DINOv2(**cfg)
    model.init_weights()
    return model


@pytest.mark.parametrize('size', [(42, 42), (56, 84), (57, 71)])
def test_forward_returns_group_maps_and_prior(size):
    model = tiny_dinov2().eval()
    outs = model(torch.randn(2, 3, *size))
    grid = (math.ceil(size[0] / 14), math.ceil(size[1] / 14))
    assert len(outs) == len(GROUPS) + 1
    for out in outs:
        assert out.shape == (2, 32, *grid)
    # The prior is the last group's map after the final LayerNorm (per token over channels).
    expected = F.layer_norm(outs[-2].permute(0, 2, 3, 1), (32, ), model.ln1.weight, model.ln1.bias, eps=1e-6)
    torch.testing.assert_close(outs[-1], expected.permute(0, 3, 1, 2))


def test_size_not_multiple_of_14_equals_zero_padding_bottom_right():
    model = tiny_dinov2().eval()
    img = torch.randn(1, 3, 31, 40)
    padded = F.pad(img, (0, 42 - 40, 0, 42 - 31))
    for a, b in zip(model(img), model(padded)):
        torch.testing.assert_close(a, b)


def test_default_groups_and_presets_on_meta():
    with torch.device('meta'):
        large = DINOv2(arch='large')
        giant = DINOv2(arch='giant')
    assert large.interaction_groups == [[0, 5], [6, 11], [12, 17], [18, 23]]
    assert giant.interaction_groups == [[0, 9], [10, 19], [20, 29], [30, 39]]
    assert (large.embed_dims, large.num_layers, large.patch_size) == (1024, 24, 14)
    assert (giant.embed_dims, giant.num_layers) == (1536, 40)
    assert large.pos_embed.shape == (1, 37 * 37 + 1, 1024)  # pretrain size 518
    assert hasattr(giant.layers[0].ffn, 'w12') and not hasattr(large.layers[0].ffn, 'w12')  # SwiGLU for G
    assert large.layers[0].attn.gamma1.weight.shape == (1024, )  # layer scale


def test_bad_groups_and_inputs_are_refused():
    with pytest.raises(ValueError, match='contiguous'):
        tiny_dinov2(interaction_groups=[[0, 1], [3, 3]])
    with pytest.raises(ValueError, match='cover 3 blocks'):
        tiny_dinov2(interaction_groups=[[0, 1], [2, 2]])
    with pytest.raises(ValueError, match=r'B x 3 x H x W.*\(1, 6, 28, 28\)'):
        tiny_dinov2()(torch.zeros(1, 6, 28, 28))


def test_gradients_reach_every_trainable_parameter_but_not_the_final_norm():
    model = tiny_dinov2(drop_path_rate=0.1).train()
    outs = model(torch.randn(2, 3, 28, 42))
    assert not outs[-1].requires_grad  # the M0 prior map is computed without gradient
    sum(o.square().mean() for o in outs[:-1]).backward()
    for name, p in model.named_parameters():
        if name.startswith('ln1.'):
            assert not p.requires_grad and p.grad is None
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_frozen_backbone_has_no_gradients_and_stays_in_eval_mode():
    model = tiny_dinov2(frozen=True, drop_path_rate=0.2, drop_rate=0.2)
    model.train()
    assert not model.training and all(not m.training for m in model.modules())
    assert all(not p.requires_grad for p in model.parameters())
    img = torch.randn(1, 3, 28, 28, requires_grad=True)
    outs = model(img)
    torch.testing.assert_close(outs[0], model(img)[0])  # no dropout / drop path: deterministic
    outs[0].sum().backward()
    assert img.grad is not None  # gradients still flow through the frozen blocks
    assert all(p.grad is None for p in model.parameters())


def test_gradient_checkpointing_gives_the_same_output_and_gradients():
    torch.manual_seed(1)
    plain = tiny_dinov2()
    ckpt = tiny_dinov2(with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    img = torch.randn(1, 3, 28, 28, requires_grad=True)  # as with a neck: tokens require grad
    grads = []
    for model in (plain, ckpt):
        model.train()
        out = model(img)[-2]
        out.sum().backward()
        grads.append(model.layers[0].attn.qkv.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_pretrained_checkpoint_loads_strictly(tmp_path):
    src = tiny_dinov2()
    path = tmp_path / 'dinov2_tiny.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}}, path)
    loaded = tiny_dinov2(init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    for key, value in src.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    assert not loaded.ln1.weight.requires_grad

    bad = {k.replace('layers.3.', 'layers.9.'): v for k, v in src.state_dict().items()}
    bad_path = tmp_path / 'bad.pth'
    torch.save(bad, bad_path)
    message = r'missing keys \(\d+\).*layers\.3\.ln1\.weight.*\n.*unexpected keys.*layers\.9'
    with pytest.raises(RuntimeError, match=message):
        tiny_dinov2(init_cfg=dict(type='Pretrained', checkpoint=str(bad_path)))


def test_missing_checkpoint_fails_at_build_naming_path_and_source(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError) as err:
        DINOv2(arch=TINY_ARCH, img_size=42, interaction_groups=GROUPS,
               init_cfg=dict(type='Pretrained', checkpoint=missing))
    assert missing in str(err.value) and DINOV2_URLS['large'] in str(err.value)
