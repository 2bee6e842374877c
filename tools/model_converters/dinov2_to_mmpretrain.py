"""Convert an official facebookresearch DINOv2 checkpoint to mmpretrain's ViT key names.

    python tools/model_converters/dinov2_to_mmpretrain.py dinov2_vitl14_pretrain.pth vit-large-dinov2.pth

The result loads into ``focus_mm``'s ``DINOv2`` backbone (and mmpretrain's ``VisionTransformer`` with
the DINOv2 settings) through ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
Works for ViT-S/B/L/G (MLP or SwiGLU FFN) and for the ``_reg4`` checkpoints. Dropped keys (reported):
``mask_token`` (only used by masked-image pretraining) and ``register_tokens`` (the mmpretrain ViT has no
register tokens: a converted ``_reg4`` model runs without them, so its features differ from the official
model's). Any other key that has no mapping stops the conversion.
"""
import argparse
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

DROPPED = {
    'mask_token': 'used only by DINOv2 masked-image pretraining',
    'register_tokens': 'register tokens of a _reg4 model; the mmpretrain ViT has none, so the converted '
                       'model runs without them and its features differ from the official _reg4 model',
}

# (official pattern, mmpretrain replacement) for the per-block keys, after `blocks.<i>.`.
_BLOCK_RULES = [
    (r'norm1\.(weight|bias)$', r'ln1.\1'),
    (r'norm2\.(weight|bias)$', r'ln2.\1'),
    (r'attn\.qkv\.(weight|bias)$', r'attn.qkv.\1'),
    (r'attn\.proj\.(weight|bias)$', r'attn.proj.\1'),
    (r'ls1\.gamma$', r'attn.gamma1.weight'),
    (r'ls2\.gamma$', r'ffn.gamma2.weight'),
    (r'mlp\.fc1\.(weight|bias)$', r'ffn.layers.0.0.\1'),
    (r'mlp\.fc2\.(weight|bias)$', r'ffn.layers.1.\1'),
    (r'mlp\.w12\.(weight|bias)$', r'ffn.w12.\1'),
    (r'mlp\.w3\.(weight|bias)$', r'ffn.w3.\1'),
]
_TOP_RULES = {
    'cls_token': 'cls_token',
    'pos_embed': 'pos_embed',
    'patch_embed.proj.weight': 'patch_embed.projection.weight',
    'patch_embed.proj.bias': 'patch_embed.projection.bias',
    'norm.weight': 'ln1.weight',
    'norm.bias': 'ln1.bias',
}
# `blocks.<i>.` or, in chunked training checkpoints, `blocks.<chunk>.<i>.` (i is the global index).
_BLOCK_PREFIX = re.compile(r'^blocks\.(?:\d+\.)?(\d+)\.(.+)$')


def convert_dinov2(state_dict: Dict[str, torch.Tensor],
                   prefix: str = 'backbone.') -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Map official DINOv2 keys to mmpretrain ``VisionTransformer`` keys.

    Args:
        state_dict (dict): Official checkpoint (``cls_token``, ``blocks.0.norm1.weight``, ...).
        prefix (str): Prefix of the output keys. Defaults to ``'backbone.'`` (mmpretrain checkpoints).

    Returns:
        tuple: the converted state dict and the list of dropped keys.

    Raises:
        ValueError: when a key has no mapping (listing every such key).
    """
    converted, dropped, unknown = OrderedDict(), [], []
    for key, value in state_dict.items():
        if key in DROPPED:
            dropped.append(key)
            continue
        new_key = _TOP_RULES.get(key)
        match = _BLOCK_PREFIX.match(key)
        if new_key is None and match:
            index, rest = match.groups()
            for pattern, repl in _BLOCK_RULES:
                if re.match(pattern, rest):
                    new_key = f'layers.{index}.' + re.sub(pattern, repl, rest)
                    break
        if new_key is None:
            unknown.append(key)
            continue
        converted[prefix + new_key] = value
    if unknown:
        raise ValueError(f'no mapping for {len(unknown)} key(s) of the DINOv2 checkpoint: {unknown}. Is it '
                         'an official facebookresearch/dinov2 backbone checkpoint '
                         '(dinov2_vit*14[_reg4]_pretrain.pth)?')
    return converted, dropped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official DINOv2 checkpoint (.pth file or URL)')
    parser.add_argument('dst', help='output path of the mmpretrain-format checkpoint')
    parser.add_argument('--prefix', default='backbone.',
                        help='prefix of the output keys (default: backbone.)')
    args = parser.parse_args()
    if '://' not in args.src and not osp.isfile(args.src):
        raise SystemExit(f'checkpoint not found: {args.src}. Official weights: '
                         'https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth '
                         '(vits14 / vitb14 / vitg14 and the _reg4 variants likewise).')
    import focus_mm  # noqa: F401  (the safe loader behind every checkpoint scheme)
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(args.src, map_location='cpu')
    for key in ('model', 'teacher', 'state_dict'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
    converted, dropped = convert_dinov2(ckpt, args.prefix)
    for key in dropped:
        print(f'dropped {key}: {DROPPED[key]}')
    torch.save(dict(state_dict=converted), args.dst)
    print(f'converted {len(converted)} tensors ({len(dropped)} dropped) -> {args.dst}')


if __name__ == '__main__':
    main()
