"""EdgeEnhancerNeck on a tiny DINOv2 and a narrow ResNet-18: shapes, gradients, freezing, loading."""
import math

import pytest
import torch
import torchvision
from mmcv.ops import MultiScaleDeformableAttention

from focus_mm.models.backbones import DINOv2
from focus_mm.models.necks import EdgeEnhancerNeck
from focus_mm.models.necks.adapter_modules import reference_points, resample_to_grid

D = 32
TINY_ARCH = dict(embed_dims=D, num_layers=4, num_heads=2, feedforward_channels=64)
GROUPS = [[0, 0], [1, 1], [2, 2], [3, 3]]
NARROW_RESNET18 = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, out_indices=(0, 1, 2, 3),
                       zero_init_residual=False)


def tiny_backbone(**kwargs) -> DINOv2:
    model = DINOv2(arch=TINY_ARCH, img_size=42, interaction_groups=GROUPS, **kwargs)
    model.init_weights()
    return model


def tiny_neck(**kwargs) -> EdgeEnhancerNeck:
    cfg = dict(embed_dims=D, num_heads=4, num_points=2, edge_backbone=NARROW_RESNET18,
               norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    neck = EdgeEnhancerNeck(**cfg)
    neck.init_weights()
    return neck


def open_init_gates(neck: EdgeEnhancerNeck) -> None:
    """Move the neck off the two zero initialisations that block some gradients by design.

    The injector gates (gamma = 0) make the injectors identities at the start, and mmcv's MSDA
    initialises the offset/weight projections to zero, so the query norms feeding only them get a zero
    gradient in the very first step. A trained model has neither; give both small values.
    """
    with torch.no_grad():
        for block in neck.interactions:
            block.injector.gamma.fill_(0.1)
        for module in neck.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.sampling_offsets.weight.normal_(std=0.02)
                module.attention_weights.weight.normal_(std=0.02)


def _expected_shapes(h, w):
    return [(math.ceil(h / s), math.ceil(w / s)) for s in (4, 8, 16, 32)]


@pytest.mark.parametrize('with_edge', [True, False])
@pytest.mark.parametrize('size', [(96, 96), (224, 320), (257, 383)])
def test_output_strides_and_channels(size, with_edge):
    backbone, neck = tiny_backbone(), tiny_neck(with_edge=with_edge)
    backbone.eval(), neck.eval()
    img = torch.randn(1, 3, *size)
    with torch.no_grad():
        outs = neck(backbone, img, torch.randn(1, 3, *size) if with_edge else None)
    assert len(outs) == 5
    for out, shape in zip(outs[:4], _expected_shapes(*size)):
        assert out.shape == (1, D, *shape)
    assert outs[4].shape == (1, D, math.ceil(size[0] / 14), math.ceil(size[1] / 14))
    assert all(torch.isfinite(o).all() for o in outs)


def test_zero_gamma_leaves_the_vit_untouched_and_prior_matches_backbone():
    backbone, neck = tiny_backbone().eval(), tiny_neck().eval()
    img = torch.randn(1, 3, 70, 84)
    with torch.no_grad():
        prior = neck(backbone, img, torch.randn(1, 3, 70, 84))[-1]
        torch.testing.assert_close(prior, backbone(img)[-1])
        for block in neck.interactions:
            block.injector.gamma.fill_(0.5)
        assert not torch.allclose(neck(backbone, img, torch.randn(1, 3, 70, 84))[-1], prior)


def test_every_trainable_parameter_gets_a_gradient():
    backbone, neck = tiny_backbone(), tiny_neck(drop_path_rate=0.1)
    open_init_gates(neck)
    backbone.train(), neck.train()
    outs = neck(backbone, torch.randn(2, 3, 64, 96), torch.randn(2, 3, 64, 96))
    assert not outs[4].requires_grad  # M0 prior: no gradient
    sum(o.square().mean() for o in outs[:4]).backward()
    for module in (backbone, neck):
        for name, p in module.named_parameters():
            if p.requires_grad:
                assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not backbone.ln1.weight.requires_grad  # final norm only feeds the prior


def test_edge_off_has_no_resnet_and_trains_every_parameter():
    backbone, neck = tiny_backbone(), tiny_neck(with_edge=False)
    assert not hasattr(neck, 'edge_backbone') and not hasattr(neck, 'interactions')
    outs = neck(backbone, torch.randn(2, 3, 50, 66), None)
    sum(o.mean() for o in outs[:4]).backward()
    for module in (backbone, neck):
        for name, p in module.named_parameters():
            if p.requires_grad:
                assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_frozen_backbone_gets_no_gradient_and_stays_in_eval_mode():
    backbone, neck = tiny_backbone(frozen=True, drop_path_rate=0.3), tiny_neck()
    open_init_gates(neck)
    torch.nn.ModuleList([backbone, neck]).train()
    assert not backbone.training and not any(m.training for m in backbone.modules())
    outs = neck(backbone, torch.randn(2, 3, 56, 56), torch.randn(2, 3, 56, 56))
    sum(o.mean() for o in outs[:4]).backward()
    assert all(p.grad is None for p in backbone.parameters())
    # the injectors are trained through the frozen blocks
    assert neck.interactions[0].injector.attn.value_proj.weight.grad.abs().sum() > 0


def test_bad_inputs_are_refused_with_the_fix():
    backbone, neck = tiny_backbone(), tiny_neck()
    with pytest.raises(ValueError, match='EdgePrior'):
        neck(backbone, torch.randn(1, 3, 56, 56), None)
    with pytest.raises(ValueError, match='same shape'):
        neck(backbone, torch.randn(1, 3, 56, 56), torch.randn(1, 3, 28, 56))
    with pytest.raises(TypeError, match='lacks'):
        neck(torch.nn.Conv2d(3, D, 1), torch.randn(1, 3, 56, 56), torch.randn(1, 3, 56, 56))
    with pytest.raises(ValueError, match='does not match'):
        tiny_neck(embed_dims=64)(backbone, torch.randn(1, 3, 56, 56), torch.randn(1, 3, 56, 56))


def test_edge_resnet_loads_torchvision_weights_strictly(tmp_path):
    tv = torchvision.models.resnet18(weights=None)
    path = tmp_path / 'resnet18_tv.pth'
    torch.save(tv.state_dict(), path)  # torchvision layout, fc.* included
    neck = tiny_neck(edge_backbone=dict(type='ResNet', depth=18), edge_pretrained=str(path))
    torch.testing.assert_close(neck.edge_backbone.layer3[1].conv2.weight, tv.layer3[1].conv2.weight)
    torch.testing.assert_close(neck.edge_backbone.bn1.running_var, tv.bn1.running_var)

    broken = {k.replace('layer4.', 'stage4.'): v for k, v in tv.state_dict().items()}
    torch.save(broken, tmp_path / 'broken.pth')
    message = r'missing keys.*layer4\.0\.conv1\.weight(.|\n)*unexpected keys.*stage4'
    with pytest.raises(RuntimeError, match=message):
        tiny_neck(edge_backbone=dict(type='ResNet', depth=18), edge_pretrained=str(tmp_path / 'broken.pth'))
    with pytest.raises(FileNotFoundError, match='nope.pth.*torchvision'):
        EdgeEnhancerNeck(embed_dims=D, num_heads=4, edge_pretrained=str(tmp_path / 'nope.pth'))


def test_resample_to_grid_is_pixel_aligned():
    # a map whose value is the x pixel coordinate of each cell centre (stride 14)
    xs = (torch.arange(6, dtype=torch.float32) + 0.5) * 14
    feat = xs.view(1, 1, 1, 6).expand(1, 1, 4, 6).contiguous()
    out = resample_to_grid(feat, 14, (7, 10), 8)  # stride-8 grid of the same image
    centres = (torch.arange(10, dtype=torch.float32) + 0.5) * 8
    inside = (centres >= xs[0]) & (centres <= xs[-1])
    torch.testing.assert_close(out[0, 0, 0, inside], centres[inside])


def test_reference_points_use_each_level_extent():
    ref = reference_points([(1, 2)], [14], [(2, 4), (1, 1)], [8, 32], torch.device('cpu'))
    assert ref.shape == (1, 2, 2, 2)
    # query centres at x = 7 and 21 px; level extents 32 and 32 px wide, 16 and 32 px high
    torch.testing.assert_close(ref[0, :, 0], torch.tensor([[7 / 32, 7 / 16], [21 / 32, 7 / 16]]))
    torch.testing.assert_close(ref[0, :, 1], torch.tensor([[7 / 32, 7 / 32], [21 / 32, 7 / 32]]))


def test_gradient_checkpointing_matches_the_plain_neck(monkeypatch):
    from focus_mm.models.necks import adapter_modules
    calls = []

    def counting_checkpoint(*args, **kwargs):
        calls.append(1)
        return torch.utils.checkpoint.checkpoint(*args, **kwargs)

    monkeypatch.setattr(adapter_modules, 'checkpoint', counting_checkpoint)
    backbone = tiny_backbone()
    plain, ckpt = tiny_neck(), tiny_neck(with_cp=True)
    open_init_gates(plain)
    ckpt.load_state_dict(plain.state_dict())
    img, edge = torch.randn(1, 3, 42, 56), torch.randn(1, 3, 42, 56)
    grads = []
    for neck in (plain, ckpt):
        neck.eval()  # same BN statistics in both runs; checkpointing works in either mode
        backbone.zero_grad()
        sum(o.sum() for o in neck(backbone, img, edge)[:4]).backward()
        grads.append((neck.interactions[0].injector.attn.value_proj.weight.grad.clone(),
                      backbone.layers[0].attn.qkv.weight.grad.clone()))
    assert len(calls) == 4 + 6  # 4 injectors + 6 extractors, only in the with_cp run
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
