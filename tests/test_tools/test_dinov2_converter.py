"""tools/model_converters/dinov2_to_mmpretrain.py on synthetic official-format DINOv2 checkpoints."""
import sys

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.backbones import VisionTransformer

from _tools import load_tool
from focus_mm.models.backbones import DINOv2

D, DEPTH, HEADS, FFN, GRID = 32, 4, 2, 128, 3
ARCH = dict(embed_dims=D, num_layers=DEPTH, num_heads=HEADS, feedforward_channels=FFN)
SWIGLU_HIDDEN = (int(FFN * 2 / 3) + 7) // 8 * 8  # DINOv2's SwiGLUFFNFused rounding


@pytest.fixture(scope='module')
def converter():
    return load_tool('model_converters', 'dinov2_to_mmpretrain')


def official_state_dict(swiglu=False, registers=False):
    """Random weights under the facebookresearch/dinov2 key names and shapes."""
    g = torch.Generator().manual_seed(0)

    def rand(*shape, scale=0.2):
        return torch.randn(*shape, generator=g) * scale

    sd = {'cls_token': rand(1, 1, D), 'pos_embed': rand(1, 1 + GRID * GRID, D), 'mask_token': rand(1, D),
          'patch_embed.proj.weight': rand(D, 3, 14, 14, scale=0.05), 'patch_embed.proj.bias': rand(D)}
    if registers:
        sd['register_tokens'] = rand(1, 4, D)
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        sd.update({p + 'norm1.weight': 1 + rand(D), p + 'norm1.bias': rand(D),
                   p + 'attn.qkv.weight': rand(3 * D, D), p + 'attn.qkv.bias': rand(3 * D),
                   p + 'attn.proj.weight': rand(D, D), p + 'attn.proj.bias': rand(D),
                   p + 'ls1.gamma': rand(D, scale=0.5), p + 'norm2.weight': 1 + rand(D),
                   p + 'norm2.bias': rand(D), p + 'ls2.gamma': rand(D, scale=0.5)})
        if swiglu:
            sd.update({p + 'mlp.w12.weight': rand(2 * SWIGLU_HIDDEN, D),
                       p + 'mlp.w12.bias': rand(2 * SWIGLU_HIDDEN),
                       p + 'mlp.w3.weight': rand(D, SWIGLU_HIDDEN), p + 'mlp.w3.bias': rand(D)})
        else:
            sd.update({p + 'mlp.fc1.weight': rand(FFN, D), p + 'mlp.fc1.bias': rand(FFN),
                       p + 'mlp.fc2.weight': rand(D, FFN), p + 'mlp.fc2.bias': rand(D)})
    sd.update({'norm.weight': 1 + rand(D), 'norm.bias': rand(D)})
    return sd


def official_forward(sd, img, swiglu):
    """The DINOv2 ViT forward written from the official key semantics (final-norm patch tokens)."""
    x = F.conv2d(img, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'], stride=14)
    b, _, h, w = x.shape
    x = torch.cat([sd['cls_token'].expand(b, -1, -1), x.flatten(2).transpose(1, 2)], 1) + sd['pos_embed']
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        y = F.layer_norm(x, (D, ), sd[p + 'norm1.weight'], sd[p + 'norm1.bias'], eps=1e-6)
        q, k, v = F.linear(y, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias']).reshape(
            b, -1, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (D // HEADS)**-0.5).softmax(-1)
        y = F.linear((attn @ v).transpose(1, 2).reshape(b, -1, D), sd[p + 'attn.proj.weight'],
                     sd[p + 'attn.proj.bias'])
        x = x + sd[p + 'ls1.gamma'] * y
        y = F.layer_norm(x, (D, ), sd[p + 'norm2.weight'], sd[p + 'norm2.bias'], eps=1e-6)
        if swiglu:
            y1, y2 = F.linear(y, sd[p + 'mlp.w12.weight'], sd[p + 'mlp.w12.bias']).chunk(2, dim=-1)
            y = F.linear(F.silu(y1) * y2, sd[p + 'mlp.w3.weight'], sd[p + 'mlp.w3.bias'])
        else:
            y = F.linear(F.gelu(F.linear(y, sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias'])),
                         sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
        x = x + sd[p + 'ls2.gamma'] * y
    x = F.layer_norm(x, (D, ), sd['norm.weight'], sd['norm.bias'], eps=1e-6)
    return x[:, 1:].transpose(1, 2).reshape(b, D, h, w)


@pytest.mark.parametrize('swiglu', [False, True])
def test_converted_weights_reproduce_the_official_forward(converter, swiglu):
    sd = official_state_dict(swiglu=swiglu)
    converted, dropped = converter.convert_dinov2(sd)
    assert dropped == ['mask_token']
    assert len(converted) == len(sd) - 1 and all(k.startswith('backbone.') for k in converted)
    state = {k[len('backbone.'):]: v for k, v in converted.items()}
    ffn_type = 'swiglu_fused' if swiglu else 'origin'

    ours = DINOv2(arch=ARCH, img_size=GRID * 14, ffn_type=ffn_type).eval()
    result = ours.load_state_dict(state, strict=True)  # no key left over on either side
    assert not result.missing_keys and not result.unexpected_keys
    ref = VisionTransformer(arch=ARCH, img_size=GRID * 14, patch_size=14, layer_scale_init_value=1e-5,
                            out_type='featmap', layer_cfgs=dict(ffn_type=ffn_type))
    ref.load_state_dict(state, strict=True)
    ref.eval()  # mmpretrain's train() returns None: no chaining

    img = torch.randn(2, 3, GRID * 14, GRID * 14)
    with torch.no_grad():
        expected = official_forward(sd, img, swiglu)
        torch.testing.assert_close(ours(img)[-1], expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(ref(img)[0], expected, rtol=1e-4, atol=1e-4)


def test_reg4_checkpoint_drops_registers_and_says_so(converter, tmp_path, monkeypatch, capsys):
    src, dst = tmp_path / 'dinov2_reg4.pth', tmp_path / 'converted.pth'
    official = official_state_dict(registers=True)
    torch.save(official, src)
    monkeypatch.setattr(sys, 'argv', ['dinov2_to_mmpretrain.py', str(src), str(dst)])
    converter.main()
    printed = capsys.readouterr().out
    assert 'dropped register_tokens' in printed and 'dropped mask_token' in printed
    # the output loads strictly through the backbone's Pretrained init_cfg
    model = DINOv2(arch=ARCH, img_size=GRID * 14, init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    torch.testing.assert_close(model.layers[3].ffn.gamma2.weight, official['blocks.3.ls2.gamma'])


def test_unknown_keys_stop_the_conversion(converter):
    sd = official_state_dict()
    sd['head.weight'] = torch.zeros(2, D)
    sd['blocks.0.attn.q_norm.weight'] = torch.zeros(D)
    with pytest.raises(ValueError, match=r"2 key\(s\).*head\.weight.*q_norm"):
        converter.convert_dinov2(sd)


def test_chunked_block_keys_are_flattened(converter):
    sd = {k.replace('blocks.3.', 'blocks.1.3.'): v for k, v in official_state_dict().items()}
    converted, _ = converter.convert_dinov2(sd, prefix='')
    assert 'layers.3.attn.qkv.weight' in converted and not any(k.startswith('blocks') for k in converted)
