"""tools/model_converters/focus_official_to_mm.py on synthetic state dicts of the authors' FOCUS.

``authors_state_shapes`` rebuilds the names and shapes of the authors' detectron2 state dict from
their module structure (geshang777/FOCUS: ``D2DINOV2`` = ``EdgeEnhancer(TIMMVisionTransformer)``,
``FOCUSHead`` = ``MSDeformAttnPixelDecoder`` + ``MultiScaleMaskedTransformerDecoder`` with the CLIP
refiner, ``SetCriterion``), with *their* shape formulas, independently of our model. The converted
result must then give every key of our full-size model (built on ``meta``) exactly once, with our
shape; tensors are carried over, not copied.
"""
import os.path as osp
from collections import OrderedDict

import pytest
import torch

from _tools import REPO, load_tool

CONFIGS = {
    'large': osp.join(REPO, 'configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py'),
    'giant': osp.join(REPO, 'configs/focus/focus_dinov2-g_2xb4-20k_sod-512x512.py'),
}
# Their configs (configs/*/*_dinov2_{large,giant}.yaml) and constructor defaults.
ARCHS = {
    'large': dict(dim=1024, depth=24, ffn='mlp', deform_heads=16),
    'giant': dict(dim=1536, depth=40, ffn='swiglu', deform_heads=24),
}
# Entries of their full checkpoints (backbone, head with CLIP refiner, criterion), from the notes.
AUTHORS_ENTRIES = {'large': 1488, 'giant': 1712}


@pytest.fixture(scope='module')
def conv():
    return load_tool('model_converters', 'focus_official_to_mm')


# ----------------------------------------------------------------------------- the authors' structure
def _linear(sd, name, n_in, n_out, bias=True):
    sd[f'{name}.weight'] = (n_out, n_in)
    if bias:
        sd[f'{name}.bias'] = (n_out, )


def _norm(sd, name, c):
    sd[f'{name}.weight'] = (c, )
    sd[f'{name}.bias'] = (c, )


def _bn(sd, name, c):  # BatchNorm2d / SyncBatchNorm / BatchNorm1d
    _norm(sd, name, c)
    sd[f'{name}.running_mean'] = (c, )
    sd[f'{name}.running_var'] = (c, )
    sd[f'{name}.num_batches_tracked'] = ()


def _conv(sd, name, c_in, c_out, k, bias=True, groups=1):
    sd[f'{name}.weight'] = (c_out, c_in // groups, k, k)
    if bias:
        sd[f'{name}.bias'] = (c_out, )


def _msda(sd, name, d, levels, heads, points, ratio=1.0):
    """Deformable-DETR / ViT-Adapter ``MSDeformAttn``."""
    _linear(sd, f'{name}.sampling_offsets', d, heads * levels * points * 2)
    _linear(sd, f'{name}.attention_weights', d, heads * levels * points)
    _linear(sd, f'{name}.value_proj', d, int(d * ratio))
    _linear(sd, f'{name}.output_proj', int(d * ratio), d)


def _vit(sd, dim, depth, ffn, p='backbone.'):
    """``TIMMVisionTransformer``: patch 14, img 518 (37 x 37 + cls), layer scale, no final norm."""
    _conv(sd, p + 'patch_embed.proj', 3, dim, 14)
    sd[p + 'pos_embed'] = (1, 37 * 37 + 1, dim)
    for i in range(depth):
        b = f'{p}blocks.{i}.'
        _norm(sd, b + 'norm1', dim)
        _linear(sd, b + 'attn.qkv', dim, 3 * dim)
        _linear(sd, b + 'attn.proj', dim, dim)
        _norm(sd, b + 'norm2', dim)
        hidden = 4 * dim
        if ffn == 'mlp':
            _linear(sd, b + 'mlp.fc1', dim, hidden)
            _linear(sd, b + 'mlp.fc2', hidden, dim)
        else:  # SwiGLUFFNFused
            hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
            _linear(sd, b + 'mlp.w12', dim, 2 * hidden)
            _linear(sd, b + 'mlp.w3', hidden, dim)
        sd[b + 'gamma1'] = (dim, )
        sd[b + 'gamma2'] = (dim, )
    sd[p + 'cls_token'] = (1, 1, dim)


def _edge_prior_module(sd, dim, p='backbone.edge.'):
    """``EdgePriorModule(Bottleneck, [3, 4, 6, 3])``: a torchvision-layout ResNet-50 + fc1..fc4."""
    _conv(sd, p + 'conv1', 3, 64, 7, bias=False)
    _bn(sd, p + 'bn1', 64)
    in_planes = 64
    for stage, (planes, blocks, stride) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), (1, 2, 2, 2))):
        for j in range(blocks):
            b = f'{p}layer{stage + 1}.{j}.'
            _conv(sd, b + 'conv1', in_planes, planes, 1, bias=False)
            _bn(sd, b + 'bn1', planes)
            _conv(sd, b + 'conv2', planes, planes, 3, bias=False)
            _bn(sd, b + 'bn2', planes)
            _conv(sd, b + 'conv3', planes, 4 * planes, 1, bias=False)
            _bn(sd, b + 'bn3', 4 * planes)
            if (stride if j == 0 else 1) != 1 or in_planes != 4 * planes:
                _conv(sd, b + 'downsample.0', in_planes, 4 * planes, 1, bias=False)
                _bn(sd, b + 'downsample.1', 4 * planes)
            in_planes = 4 * planes
    for k, div in enumerate((8, 4, 2, 1)):
        _conv(sd, f'{p}fc{k + 1}', in_planes // div, dim, 1)


def _extractor(sd, name, dim, heads):
    _norm(sd, name + '.query_norm', dim)
    _norm(sd, name + '.feat_norm', dim)
    _msda(sd, name + '.attn', dim, 1, heads, 4, 0.5)
    hidden = int(dim * 0.25)
    _linear(sd, name + '.ffn.fc1', dim, hidden)
    _conv(sd, name + '.ffn.dwconv.dwconv', hidden, hidden, 3, groups=hidden)
    _linear(sd, name + '.ffn.fc2', hidden, dim)
    _norm(sd, name + '.ffn_norm', dim)


def _edge_enhancer(sd, dim, deform_heads, p='backbone.'):
    """``EdgeEnhancer`` minus the ViT, in their registration order."""
    sd[p + 'level_embed'] = (3, dim)
    _edge_prior_module(sd, dim)
    for i in range(4):  # InteractionBlockWithCls; the last one with 2 extra extractors
        b = f'{p}interactions.{i}.'
        _norm(sd, b + 'injector.query_norm', dim)
        _norm(sd, b + 'injector.feat_norm', dim)
        _msda(sd, b + 'injector.attn', dim, 3, deform_heads, 4, 0.5)
        sd[b + 'injector.gamma'] = (dim, )
        _extractor(sd, b + 'extractor', dim, deform_heads)
        if i == 3:
            for j in range(2):
                _extractor(sd, f'{b}extra_extractors.{j}', dim, deform_heads)
    sd[p + 'up.weight'] = (dim, dim, 2, 2)  # ConvTranspose2d: in x out x k x k
    sd[p + 'up.bias'] = (dim, )
    for k in range(1, 5):
        _bn(sd, f'{p}norm{k}', dim)


def _pixel_decoder(sd, dim, p='sem_seg_head.pixel_decoder.'):
    """``MSDeformAttnPixelDecoder``: conv_dim 256, GN, 6 encoder layers (FFN 1024), mask_dim 256."""
    for i in range(3):  # res5, res4, res3
        _conv(sd, f'{p}input_proj.{i}.0', dim, 256, 1)
        _norm(sd, f'{p}input_proj.{i}.1', 256)
    for i in range(6):
        b = f'{p}transformer.encoder.layers.{i}.'
        _msda(sd, b + 'self_attn', 256, 3, 8, 4)
        _norm(sd, b + 'norm1', 256)
        _linear(sd, b + 'linear1', 256, 1024)
        _linear(sd, b + 'linear2', 1024, 256)
        _norm(sd, b + 'norm2', 256)
    sd[p + 'transformer.level_embed'] = (3, 256)
    _conv(sd, p + 'mask_features', 256, 256, 1)
    _conv(sd, p + 'adapter_1', dim, 256, 1, bias=False)  # detectron2 Conv2d(norm=GN), no bias
    _norm(sd, p + 'adapter_1.norm', 256)
    _conv(sd, p + 'layer_1', 256, 256, 3, bias=False)
    _norm(sd, p + 'layer_1.norm', 256)


def _mha(sd, name, d):
    sd[f'{name}.in_proj_weight'] = (3 * d, d)
    sd[f'{name}.in_proj_bias'] = (3 * d, )
    _linear(sd, f'{name}.out_proj', d, d)


def _openai_clip_vit_b16(sd, p):
    """OpenAI CLIP ViT-B/16 as their third_party/CLIP builds it (mask prompt depth 3)."""
    def resblocks(prefix, width, layers):
        for i in range(layers):
            b = f'{prefix}.resblocks.{i}.'
            _mha(sd, b + 'attn', width)
            _norm(sd, b + 'ln_1', width)
            _linear(sd, b + 'mlp.c_fc', width, 4 * width)
            _linear(sd, b + 'mlp.c_proj', 4 * width, width)
            _norm(sd, b + 'ln_2', width)

    sd[p + 'positional_embedding'] = (77, 512)
    sd[p + 'text_projection'] = (512, 512)
    sd[p + 'logit_scale'] = ()
    v = p + 'visual.'
    sd[v + 'class_embedding'] = (768, )
    sd[v + 'positional_embedding'] = (197, 768)
    sd[v + 'proj'] = (768, 512)
    sd[v + 'mask_embedding'] = (3, 196, 768)
    _conv(sd, v + 'conv1', 3, 768, 16, bias=False)
    _norm(sd, v + 'ln_pre', 768)
    resblocks(v + 'transformer', 768, 12)
    _norm(sd, v + 'ln_post', 768)
    resblocks(p + 'transformer', 512, 12)
    sd[p + 'token_embedding.weight'] = (49408, 512)
    _norm(sd, p + 'ln_final', 512)


def _predictor(sd, p='sem_seg_head.predictor.'):
    """``MultiScaleMaskedTransformerDecoder``: 9 layers, hidden 256, FFN 2048, 2 queries, 3 classes."""
    for i in range(9):
        _mha(sd, f'{p}transformer_self_attention_layers.{i}.self_attn', 256)
        _norm(sd, f'{p}transformer_self_attention_layers.{i}.norm', 256)
        _mha(sd, f'{p}transformer_cross_attention_layers.{i}.multihead_attn', 256)
        _norm(sd, f'{p}transformer_cross_attention_layers.{i}.norm', 256)
        _linear(sd, f'{p}transformer_ffn_layers.{i}.linear1', 256, 2048)
        _linear(sd, f'{p}transformer_ffn_layers.{i}.linear2', 2048, 256)
        _norm(sd, f'{p}transformer_ffn_layers.{i}.norm', 256)
    _norm(sd, p + 'decoder_norm', 256)
    for name, rows in (('query_feat', 2), ('query_embed', 2), ('level_embed', 3)):
        sd[f'{p}{name}.weight'] = (rows, 256)
    # input_proj: in_channels == hidden_dim and ENFORCE_INPUT_PROJ False -> empty Sequentials
    _linear(sd, p + 'class_embed', 256, 3)
    for head, out in (('mask_embed', 256), ('bbox_embed', 4)):
        for j in range(3):
            _linear(sd, f'{p}{head}.layers.{j}', 256, out if j == 2 else 256)
    _openai_clip_vit_b16(sd, p + 'clip_refiner.clip_model.')
    sd[p + 'clip_refiner.non_object_embedding'] = (1, 512)
    sd[p + 'clip_refiner.pixel_mean'] = (1, 3, 1, 1)
    sd[p + 'clip_refiner.pixel_std'] = (1, 3, 1, 1)
    for proj in ('text_embed', 'image_embed'):  # ProjectionHead(512)
        _linear(sd, f'{p}{proj}.projection', 512, 512)
        _linear(sd, f'{p}{proj}.fc', 512, 512)
        _norm(sd, f'{p}{proj}.layer_norm', 512)
        _bn(sd, f'{p}{proj}.bn1', 2)


def authors_state_shapes(arch: str) -> 'OrderedDict[str, tuple]':
    """Names and shapes of the authors' FOCUS state dict for 'large' or 'giant'."""
    a = ARCHS[arch]
    sd = OrderedDict()
    _vit(sd, a['dim'], a['depth'], a['ffn'])
    _edge_enhancer(sd, a['dim'], a['deform_heads'])
    _pixel_decoder(sd, a['dim'])
    _predictor(sd)
    sd['criterion.empty_weight'] = (3, )
    return sd


def meta_state(shapes):
    return OrderedDict((k, torch.empty(s, device='meta')) for k, s in shapes.items())


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize('arch', ['large', 'giant'])
def test_full_shape_exact_mapping(conv, arch):
    shapes = authors_state_shapes(arch)
    assert len(shapes) == AUTHORS_ENTRIES[arch]
    src = meta_state(shapes)
    converted, report = conv.convert_focus(src)
    ours = conv.reference_shapes(CONFIGS[arch])
    conv.check_against(converted, ours)  # every key of ours once, with our shape
    assert list(converted) != [] and set(converted) == set(ours)

    # every key of theirs is accounted for exactly once: mapped (to a distinct key) or dropped
    mapped = [k for keys in report['mapped'].values() for k in keys]
    assert len(mapped) + len(report['dropped']) == len(shapes)
    assert set(mapped) | set(report['dropped']) == set(shapes)
    assert len(mapped) == len(converted) - len(report['filled'])
    # tensors are carried over unchanged (no copy, no reshape)
    by_source = {}
    for their_key in mapped:
        _, our_key = conv.map_key(their_key)
        by_source[their_key] = our_key
        assert converted[our_key] is src[their_key]
    # what is dropped: the CLIP refiner (302 CLIP entries + 3), 2 projection heads (11 each), 1 buffer
    assert len(report['dropped']) == 306 + 22 + 1
    assert all(k.startswith('sem_seg_head.predictor.clip_refiner.') for k in report['dropped'][:306])
    assert report['filled'] == ['backbone.ln1.weight', 'backbone.ln1.bias']
    dims = ARCHS[arch]['dim']
    assert torch.equal(converted['backbone.ln1.weight'], torch.ones(dims))
    assert torch.equal(converted['backbone.ln1.bias'], torch.zeros(dims))

    # spot checks of the renames that are easy to get wrong (read from both codes)
    last = ARCHS[arch]['depth'] - 1
    expected = {
        'backbone.interactions.3.extra_extractors.1.attn.value_proj.weight':
            'neck.interactions.3.extractors.2.attn.value_proj.weight',
        'backbone.interactions.2.extractor.ffn.dwconv.dwconv.weight':
            'neck.interactions.2.extractors.0.ffn.dwconv.dwconv.weight',
        'backbone.edge.fc1.weight': 'neck.edge_proj.0.weight',
        'backbone.edge.fc4.bias': 'neck.edge_proj.3.bias',
        'backbone.edge.layer3.0.downsample.1.running_var':
            'neck.edge_backbone.layer3.0.downsample.1.running_var',
        'backbone.norm4.num_batches_tracked': 'neck.norms.3.num_batches_tracked',
        f'backbone.blocks.{last}.gamma2': f'backbone.layers.{last}.ffn.gamma2.weight',
        'backbone.patch_embed.proj.weight': 'backbone.patch_embed.projection.weight',
        'sem_seg_head.pixel_decoder.transformer.level_embed': 'decode_head.pixel_decoder.level_embed.weight',
        'sem_seg_head.pixel_decoder.adapter_1.norm.bias': 'decode_head.pixel_decoder.lateral_conv.1.bias',
        'sem_seg_head.pixel_decoder.transformer.encoder.layers.5.linear2.weight':
            'decode_head.pixel_decoder.encoder.5.ffn.3.weight',
        'sem_seg_head.predictor.transformer_cross_attention_layers.8.multihead_attn.in_proj_weight':
            'decode_head.layers.8.cross_attn.in_proj_weight',
        'sem_seg_head.predictor.transformer_ffn_layers.0.norm.weight': 'decode_head.layers.0.norm_ffn.weight',
        'sem_seg_head.predictor.class_embed.bias': 'decode_head.cls_embed.bias',
    }
    if arch == 'large':
        expected['backbone.blocks.0.mlp.fc1.weight'] = 'backbone.layers.0.ffn.layers.0.0.weight'
    else:
        expected['backbone.blocks.0.mlp.w12.weight'] = 'backbone.layers.0.ffn.w12.weight'
    for theirs, mine in expected.items():
        assert by_source[theirs] == mine


def test_values_pass_through_and_final_norm(conv):
    shapes = authors_state_shapes('large')
    src = OrderedDict((k, torch.randn(s) if len(s) <= 1 and k.startswith('backbone.norm') else
                       torch.empty(s, device='meta')) for k, s in shapes.items())
    src = OrderedDict(('module.' + k, v) for k, v in src.items())  # a DDP-wrapped save
    norm = {'weight': torch.rand(1024) + 0.5, 'bias': torch.randn(1024)}
    converted, _ = conv.convert_focus(src, final_norm=norm)
    assert torch.equal(converted['neck.norms.1.running_mean'], src['module.backbone.norm2.running_mean'])
    assert torch.equal(converted['backbone.ln1.weight'], norm['weight'])
    with pytest.raises(ValueError, match='1024 wide'):
        conv.convert_focus(src, final_norm={'weight': torch.ones(1536), 'bias': torch.zeros(1536)})


def test_unknown_key_and_duplicates_fail(conv):
    shapes = authors_state_shapes('large')
    src = meta_state(shapes)
    src['sem_seg_head.predictor.some_new_head.weight'] = torch.empty(3, 256, device='meta')
    with pytest.raises(ValueError, match='some_new_head'):
        conv.convert_focus(src)
    dup = meta_state(shapes)
    dup['module.backbone.cls_token'] = dup['backbone.cls_token']
    with pytest.raises(ValueError, match='both map to backbone.cls_token'):
        conv.convert_focus(dup)


def test_check_against_names_the_mismatch(conv):
    shapes = authors_state_shapes('large')
    converted, _ = conv.convert_focus(meta_state(shapes))
    ours = {k: tuple(v.shape) for k, v in converted.items()}
    ours['decode_head.cls_embed.weight'] = (4, 256)
    ours['decode_head.extra.weight'] = (1, )
    with pytest.raises(ValueError, match=r"1 missing \['decode_head.extra.weight'\].*cls_embed.weight"):
        conv.check_against(converted, ours)


def test_cli_round_trip(conv, tmp_path):
    """The command line on a (tiny-valued) file: load, convert, check against the L config, save."""
    shapes = authors_state_shapes('large')
    # real tensors would be 374M + CLIP; keep the file small with zero-stride expanded storage
    src = OrderedDict((k, torch.zeros(s) if len(s) <= 1 else torch.zeros(()).expand(s))
                      for k, s in shapes.items())
    ckpt = {'model': src, 'iteration': 20000}
    path = tmp_path / 'focus_large_sod.pth'
    # torch.save stores the expanded views with their one-element storages
    torch.save(ckpt, path)
    assert path.stat().st_size < 50e6
    out = tmp_path / 'converted.pth'
    assert conv.main([str(path), str(out), '--config', CONFIGS['large']]) == 0
    saved = torch.load(out, map_location='cpu', weights_only=True)
    assert set(saved['state_dict']) == set(conv.reference_shapes(CONFIGS['large']))
    assert saved['meta']['dropped'] == 329
