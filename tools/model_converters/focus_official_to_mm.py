"""Convert the authors' FOCUS checkpoints (detectron2, geshang777/FOCUS) to focus_mm's key names.

    python tools/model_converters/focus_official_to_mm.py focus_large_sod.pth focus_dinov2-l_sod.pth \
        --config configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py

Every key of the authors' state dict is either mapped (small ordered rules per component, below) or
dropped for a stated reason (``DROPPED``); a key that is neither stops the conversion. With
``--config`` the result is checked against the model that config builds (on the ``meta`` device, so
no memory and no download): every key of ours produced exactly once, with the right shape.

One key of ours has no source: ``backbone.ln1`` (DINOv2's final LayerNorm). The authors' ViT has no
final norm (it is commented out in their ``TIMMVisionTransformer``); ours uses it only for the M0 PCA
prior. It is taken from ``--final-norm-from`` (a DINOv2 checkpoint, mmpretrain or official format)
or, without it, set to the identity affine (weight 1, bias 0).

What the conversion reproduces: the weights, key for key (the check above). Not, by itself, the
predictions: our model differs from theirs in behaviour as well (docs/advanced_guides/authors_code.md
lists every difference). To predict what their model predicts, evaluate the converted file with its
converted-checkpoint config,
``configs/focus/converted_checkpoints/focus_{large,giant}_{cod,sod,sd,dbd,fd}.py``::

    python tools/test.py configs/focus/converted_checkpoints/focus_large_sod.py focus_dinov2-l_sod.pth

It sets, on top of the training config of the same size and task: their token geometry
(``backbone.token_geometry='stretched'``: the input cropped to a multiple of 14, 36 x 36 tokens at 512,
and the token grid stretched over the image by the adapter), their edge input
(``data_preprocessor.edge_input='preprocessor'``: per-channel Canny of the normalised image x 255, BGR, in
[0, 1]), no M0 prior (``decode_head.prior_index=None``: they compute none at test time), their binary
decision rule (``test_cfg.decision_rule='scored_pair_merge'``, their evaluator's ``_merge_mask``) and their
test loader's PIL decoding and resizing. The training configs (ours: padded geometry, our edge prior, M0,
the joint rule) give other predictions from the same weights at any side that is not a multiple of 14
(512 included), and everywhere through the edge branch, which was trained on their edge input.
Exact only image by image, as their test loader runs: with several images in a batch, each is padded
to the largest, and the padding enters the edge input and the token grid (``tools/test.py`` uses batch
size 1; ``FocusInferencer`` / ``tools/infer.py`` batch 4 images by default and decode with their own
reader, not PIL: use batch size 1 there). Not reproduced: their metric code (ours is pysodmetrics';
``ForegroundMetric(paper_convention=True)`` gives their BER and AUC conventions) and float rounding
(their attention and deformable-attention kernels differ from ours).

Checkpoints (paths or URLs) are read with the project's safe loader
(``focus_mm.engine.checkpoint_loaders``), detectron2 ``.pkl`` files (numpy arrays) with torch's
restricted unpickler; ``FOCUS_TRUSTED_CHECKPOINTS=1`` allows a full unpickle of a file that holds other
objects.
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

# A rule: (regex on the authors' key, replacement: a template for ``match.expand`` or a function of the
# match). Components are tried in order; inside a component the first matching rule wins.
Repl = Union[str, Callable[[re.Match], str]]
Rule = Tuple[str, Repl]

_PARAM = r'(weight|bias)'
_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'


def _shift(group: int, template: str, delta: int = -1) -> Callable[[re.Match], str]:
    """Replacement that renumbers ``match.group(group)`` by ``delta`` (``fc1`` -> ``edge_proj.0``)."""

    def repl(m: re.Match) -> str:
        return m.expand(template.replace('{n}', str(int(m.group(group)) + delta)))

    return repl


def vit_rules() -> List[Rule]:
    """DINOv2 ViT: the authors' timm-style blocks -> mmpretrain ``VisionTransformer`` layers."""
    b = r'^backbone\.blocks\.(\d+)\.'
    return [
        (r'^backbone\.(cls_token|pos_embed)$', r'backbone.\1'),
        (rf'^backbone\.patch_embed\.proj\.{_PARAM}$', r'backbone.patch_embed.projection.\1'),
        (rf'{b}norm1\.{_PARAM}$', r'backbone.layers.\1.ln1.\2'),
        (rf'{b}norm2\.{_PARAM}$', r'backbone.layers.\1.ln2.\2'),
        (rf'{b}attn\.(qkv|proj)\.{_PARAM}$', r'backbone.layers.\1.attn.\2.\3'),
        # layer scale: a bare parameter in their Block, a LayerScale module in mmpretrain
        (rf'{b}gamma1$', r'backbone.layers.\1.attn.gamma1.weight'),
        (rf'{b}gamma2$', r'backbone.layers.\1.ffn.gamma2.weight'),
        (rf'{b}mlp\.fc1\.{_PARAM}$', r'backbone.layers.\1.ffn.layers.0.0.\2'),
        (rf'{b}mlp\.fc2\.{_PARAM}$', r'backbone.layers.\1.ffn.layers.1.\2'),
        (rf'{b}mlp\.(w12|w3)\.{_PARAM}$', r'backbone.layers.\1.ffn.\2.\3'),  # SwiGLU (ViT-G)
    ]


def edge_rules() -> List[Rule]:
    """Edge enhancer: their ``EdgePriorModule`` (torchvision-layout ResNet-50 + fc1..4), interaction
    blocks, level embeddings, up-conv and output norms -> ``EdgeEnhancerNeck``."""
    e = r'^backbone\.edge\.'
    i = r'^backbone\.interactions\.(\d+)\.'
    block_part = rf'(conv[123]\.weight|bn[123]\.{_BN}|downsample\.0\.weight|downsample\.1\.{_BN})'
    return [
        (rf'{e}conv1\.weight$', r'neck.edge_backbone.conv1.weight'),
        (rf'{e}bn1\.{_BN}$', r'neck.edge_backbone.bn1.\1'),
        (rf'{e}(layer[1-4]\.\d+)\.{block_part}$', r'neck.edge_backbone.\1.\2'),
        (rf'{e}fc([1-4])\.{_PARAM}$', _shift(1, r'neck.edge_proj.{n}.\2')),
        (rf'{i}injector\.(.+)$', r'neck.interactions.\1.injector.\2'),
        # their one extractor + ``extra_extractors`` (last group) -> our list of extractors
        (rf'{i}extractor\.(.+)$', r'neck.interactions.\1.extractors.0.\2'),
        (rf'{i}extra_extractors\.(\d+)\.(.+)$', _shift(2, r'neck.interactions.\1.extractors.{n}.\3', 1)),
        (r'^backbone\.level_embed$', r'neck.level_embed'),
        (rf'^backbone\.up\.{_PARAM}$', r'neck.up.\1'),
        (rf'^backbone\.norm([1-4])\.{_BN}$', _shift(1, r'neck.norms.{n}.\2')),
    ]


def pixel_decoder_rules() -> List[Rule]:
    """Mask2Former ``MSDeformAttnPixelDecoder`` -> ``FocusPixelDecoder`` (same level order: s32 first)."""
    p = r'^sem_seg_head\.pixel_decoder\.'
    enc = rf'{p}transformer\.encoder\.layers\.(\d+)\.'
    out = 'decode_head.pixel_decoder.'
    return [
        (rf'{p}input_proj\.(\d+)\.([01])\.{_PARAM}$', out + r'input_projs.\1.\2.\3'),
        (rf'{p}transformer\.level_embed$', out + 'level_embed.weight'),  # Parameter -> nn.Embedding
        (rf'{enc}self_attn\.(sampling_offsets|attention_weights|value_proj|output_proj)\.{_PARAM}$',
         out + r'encoder.\1.self_attn.\2.\3'),
        (rf'{enc}(norm[12])\.{_PARAM}$', out + r'encoder.\1.\2.\3'),
        (rf'{enc}linear1\.{_PARAM}$', out + r'encoder.\1.ffn.0.\2'),
        (rf'{enc}linear2\.{_PARAM}$', out + r'encoder.\1.ffn.3.\2'),
        # detectron2 Conv2d with a norm: ``adapter_1`` = FPN lateral conv, ``layer_1`` = output conv
        (rf'{p}adapter_1\.weight$', out + 'lateral_conv.0.weight'),
        (rf'{p}adapter_1\.norm\.{_PARAM}$', out + r'lateral_conv.1.\1'),
        (rf'{p}layer_1\.weight$', out + 'output_conv.0.weight'),
        (rf'{p}layer_1\.norm\.{_PARAM}$', out + r'output_conv.1.\1'),
        (rf'{p}mask_features\.{_PARAM}$', out + r'mask_feature.\1'),
    ]


def transformer_decoder_rules() -> List[Rule]:
    """``MultiScaleMaskedTransformerDecoder`` (3 module lists) -> ``GroundQueryHead`` (one list of
    cross -> self -> FFN layers) and its class / mask / box heads."""
    p = r'^sem_seg_head\.predictor\.'
    cross = rf'{p}transformer_cross_attention_layers\.(\d+)\.'
    self_ = rf'{p}transformer_self_attention_layers\.(\d+)\.'
    ffn = rf'{p}transformer_ffn_layers\.(\d+)\.'
    mha = r'(in_proj_weight|in_proj_bias|out_proj\.weight|out_proj\.bias)'
    out = r'decode_head.layers.\1.'
    return [
        (rf'{cross}multihead_attn\.{mha}$', out + r'cross_attn.\2'),
        (rf'{cross}norm\.{_PARAM}$', out + r'norm_cross.\2'),
        (rf'{self_}self_attn\.{mha}$', out + r'self_attn.\2'),
        (rf'{self_}norm\.{_PARAM}$', out + r'norm_self.\2'),
        (rf'{ffn}linear1\.{_PARAM}$', out + r'ffn.0.\2'),
        (rf'{ffn}linear2\.{_PARAM}$', out + r'ffn.3.\2'),
        (rf'{ffn}norm\.{_PARAM}$', out + r'norm_ffn.\2'),
        (rf'{p}decoder_norm\.{_PARAM}$', r'decode_head.decoder_norm.\1'),
        (rf'{p}(query_feat|query_embed|level_embed)\.weight$', r'decode_head.\1.weight'),
        # class order is the same: 0 foreground, 1 background, 2 no-object (their dataset ids 1, 2)
        (rf'{p}class_embed\.{_PARAM}$', r'decode_head.cls_embed.\1'),
        (rf'{p}(mask_embed|bbox_embed)\.layers\.([0-2])\.{_PARAM}$', r'decode_head.\1.layers.\2.\3'),
    ]


COMPONENT_RULES: Dict[str, Callable[[], List[Rule]]] = {
    'vit': vit_rules,
    'edge_enhancer': edge_rules,
    'pixel_decoder': pixel_decoder_rules,
    'transformer_decoder': transformer_decoder_rules,
}

# Key prefixes (or exact keys) of theirs that have no counterpart, with the reason.
DROPPED = OrderedDict([
    ('sem_seg_head.predictor.clip_refiner.',
     'the frozen OpenAI CLIP ViT-B/16 of their CLIP refiner (with its mask-prompt embedding, '
     'non_object_embedding and pixel mean/std buffers): training only; our CLIPRefinerLoss loads '
     "open_clip's ViT-B-16 'openai' weights itself and keeps them out of the state dict"),
    ('sem_seg_head.predictor.text_embed.',
     'their trainable projection head on CLIP text features: training only; our CLIP loss (the '
     "paper's InfoNCE) compares CLIP's own embeddings and has no projection heads"),
    ('sem_seg_head.predictor.image_embed.',
     'their trainable projection head on CLIP image features: training only (see text_embed)'),
    ('criterion.empty_weight',
     'a constant buffer of their loss (class weights with no-object 0.1); ours comes from the config'),
])

# Keys of ours that the authors' model does not have, and how they are filled.
FILLED = OrderedDict([
    ('backbone.ln1.weight', 'DINOv2 final norm: absent from their ViT (used by our M0 prior only)'),
    ('backbone.ln1.bias', 'DINOv2 final norm: absent from their ViT (used by our M0 prior only)'),
])


def _compiled_rules() -> List[Tuple[str, re.Pattern, Repl]]:
    return [(name, re.compile(pattern), repl) for name, make in COMPONENT_RULES.items()
            for pattern, repl in make()]


def drop_reason(key: str) -> Optional[str]:
    """The reason ``key`` of the authors' checkpoint is dropped, or None when it must be mapped."""
    for prefix, reason in DROPPED.items():
        if key == prefix or (prefix.endswith('.') and key.startswith(prefix)):
            return reason
    return None


def map_key(key: str, rules=None) -> Optional[Tuple[str, str]]:
    """``(component, our key)`` for one of the authors' keys, or None when no rule matches."""
    for component, pattern, repl in rules or _compiled_rules():
        m = pattern.match(key)
        if m:
            return component, (repl(m) if callable(repl) else m.expand(repl))
    return None


def convert_focus(state_dict: Dict[str, torch.Tensor],
                  final_norm: Optional[Dict[str, torch.Tensor]] = None
                  ) -> Tuple['OrderedDict[str, torch.Tensor]', Dict[str, List[str]]]:
    """Map the authors' FOCUS state dict to focus_mm keys.

    Args:
        state_dict (dict): Their model's state dict (``backbone.*``, ``sem_seg_head.*``,
            ``criterion.*``); a ``module.`` prefix (DDP) is stripped.
        final_norm (dict, optional): ``{'weight': w, 'bias': b}`` for ``backbone.ln1``; identity when
            None.

    Returns:
        tuple: the converted state dict, and a report ``{'mapped': {component: [their keys]},
        'dropped': [their keys], 'filled': [our keys]}`` (``mapped`` as a dict of lists).

    Raises:
        ValueError: when keys have no rule and no drop reason, when two keys map to the same key of
            ours, or when the ViT width cannot be found for the filled final norm.
    """
    rules = _compiled_rules()
    converted, dropped, unknown = OrderedDict(), [], []
    mapped: Dict[str, List[str]] = {name: [] for name in COMPONENT_RULES}
    source_of: Dict[str, str] = {}
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if drop_reason(key) is not None:
            dropped.append(key)
            continue
        hit = map_key(key, rules)
        if hit is None:
            unknown.append(key)
            continue
        component, new_key = hit
        if new_key in source_of:
            raise ValueError(f'{key} and {source_of[new_key]} both map to {new_key}: the checkpoint has '
                             'duplicate entries (e.g. with and without a "module." prefix)')
        source_of[new_key] = key
        converted[new_key] = value
        mapped[component].append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} key(s) of the FOCUS checkpoint have no mapping and no drop reason: '
            f'{unknown[:20]}{" ..." if len(unknown) > 20 else ""}. Is it a checkpoint of the authors\' '
            'FOCUS (geshang777/FOCUS, D2DINOV2 backbone + FOCUSHead)? If their code changed, add a rule '
            'to tools/model_converters/focus_official_to_mm.py.')
    cls_token = converted.get('backbone.cls_token')
    if cls_token is None:
        raise ValueError('the checkpoint has no backbone.cls_token: cannot tell the ViT width for '
                         'backbone.ln1. Is it a full FOCUS checkpoint?')
    dims, dtype = cls_token.shape[-1], cls_token.dtype
    if final_norm is None:
        final_norm = {'weight': torch.ones(dims, dtype=dtype), 'bias': torch.zeros(dims, dtype=dtype)}
    for name in ('weight', 'bias'):
        value = final_norm[name]
        if tuple(value.shape) != (dims, ):
            raise ValueError(f'final norm {name} has shape {tuple(value.shape)}, but the ViT of the '
                             f'checkpoint is {dims} wide: use the DINOv2 checkpoint of the same size')
        converted[f'backbone.ln1.{name}'] = value.to(dtype)
    return converted, {'mapped': mapped, 'dropped': dropped, 'filled': list(FILLED)}


def check_against(converted: Dict[str, torch.Tensor], reference: Dict[str, Sequence[int]]) -> None:
    """Raise unless ``converted`` has exactly the keys of ``reference`` (our model) with its shapes.

    Args:
        converted (dict): Output of :func:`convert_focus`.
        reference (dict): ``{our key: shape}``, e.g. from ``model.state_dict()`` of a meta build.
    """
    missing = sorted(set(reference) - set(converted))
    extra = sorted(set(converted) - set(reference))
    wrong = sorted(f'{k}: {tuple(converted[k].shape)} vs ours {tuple(reference[k])}'
                   for k in set(reference) & set(converted)
                   if tuple(converted[k].shape) != tuple(reference[k]))
    if missing or extra or wrong:
        raise ValueError(
            f'the converted checkpoint does not fit the model: {len(missing)} missing {missing[:10]}, '
            f'{len(extra)} unexpected {extra[:10]}, {len(wrong)} with other shapes {wrong[:10]}. '
            'Check that the config matches the checkpoint (DINOv2-L vs -G), or update the rules.')


def reference_shapes(config: str) -> Dict[str, Tuple[int, ...]]:
    """Keys and shapes of the model built from ``config`` on the meta device (nothing downloaded)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401  (registers the components)
    from focus_mm.utils import build_offline_model

    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    with torch.device('meta'):
        model = build_offline_model(cfg.model)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def load_authors_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """Their state dict from a detectron2 ``.pth`` (``{'model': ...}``) or ``.pkl`` (numpy) file."""
    if '://' not in path and not osp.isfile(path):
        raise SystemExit(f'checkpoint not found: {path}. The authors publish theirs at '
                         'https://huggingface.co/geshang/focus_{large,giant}_{cod,sod,sd,dbd,fd}.')
    from mmengine.runner.checkpoint import CheckpointLoader

    from focus_mm.engine.checkpoint_loaders import safe_unpickle
    if path.endswith('.pkl'):  # a plain pickle of numpy arrays: same policy, torch's restricted unpickler
        ckpt = safe_unpickle(path)
    else:
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    for key in ('model', 'state_dict'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
    if not isinstance(ckpt, dict):
        raise SystemExit(f'{path} holds a {type(ckpt).__name__}, not a state dict')
    return {k: torch.as_tensor(v) if not isinstance(v, torch.Tensor) else v for k, v in ckpt.items()}


def load_final_norm(path: str) -> Dict[str, torch.Tensor]:
    """``backbone.ln1`` from a DINOv2 checkpoint: mmpretrain (``backbone.ln1.*``/``ln1.*``) or official
    facebookresearch (``norm.*``) format."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if '://' not in path and not osp.isfile(path):
        raise SystemExit(f'--final-norm-from: file not found: {path}')
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    ckpt = ckpt.get('state_dict', ckpt)
    for prefix in ('backbone.ln1.', 'ln1.', 'norm.'):
        if f'{prefix}weight' in ckpt and f'{prefix}bias' in ckpt:
            return {'weight': ckpt[f'{prefix}weight'], 'bias': ckpt[f'{prefix}bias']}
    raise SystemExit(f'--final-norm-from: {path} has none of backbone.ln1.*, ln1.*, norm.* (is it a DINOv2 '
                     'checkpoint?)')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help="the authors' checkpoint (.pth or detectron2 .pkl)")
    parser.add_argument('dst', help='output path (mmengine checkpoint with a state_dict)')
    parser.add_argument('--config', help='check the result against the model of this focus_mm config')
    parser.add_argument('--final-norm-from', help='DINOv2 checkpoint to take backbone.ln1 from '
                        '(default: identity affine)')
    args = parser.parse_args(argv)
    state = load_authors_checkpoint(args.src)
    final_norm = load_final_norm(args.final_norm_from) if args.final_norm_from else None
    converted, report = convert_focus(state, final_norm)
    if args.config:
        check_against(converted, reference_shapes(args.config))
        print(f'checked against {args.config}: every key and shape fits')
    for component, keys in report['mapped'].items():
        print(f'mapped {len(keys):5d} {component}')
    reasons = OrderedDict()
    for key in report['dropped']:
        reasons.setdefault(drop_reason(key), []).append(key)
    for reason, keys in reasons.items():
        print(f'dropped {len(keys):4d} ({keys[0]}{", ..." if len(keys) > 1 else ""}): {reason}')
    how = f'from {args.final_norm_from}' if args.final_norm_from else 'identity (weight 1, bias 0)'
    for key in report['filled']:
        print(f'filled  {key}: {FILLED[key]}; {how}')
    meta = dict(converted_from=osp.basename(args.src), converter='focus_official_to_mm',
                dropped=len(report['dropped']), filled=list(report['filled']))
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'saved {len(converted)} tensors to {args.dst}. To predict what the authors\' model predicts, '
          'evaluate it with configs/focus/converted_checkpoints/focus_<large|giant>_<task>.py '
          '(their token geometry, edge input and decision rule; see this script\'s docstring).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
