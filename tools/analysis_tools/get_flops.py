"""Parameters and FLOPs of a FOCUS model, per component, for one inference forward.

    python tools/analysis_tools/get_flops.py configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py \
        --shape 512 512 [--json flops.json]

The model is built from the config without downloads (random weights: FLOPs do not depend on them)
and traced once with mmengine's ``FlopAnalyzer`` (fvcore's counter) on the inference path
``encode_decode`` (backbone + neck, pixel decoder, transformer decoder with all prediction heads, the
joint foreground map resized to the input). Components:

- ``vit``: the backbone's modules (DINOv2 blocks, patch embedding, final norm);
- ``edge_enhancer``: the neck (edge ResNet, 1x1 projections, injectors/extractors, up-conv, norms),
  with ``edge_resnet`` and ``interactions`` as parts of it;
- ``pixel_decoder`` and ``transformer_decoder`` (the head minus the pixel decoder).

Convention: ``macs`` counts one fused multiply-add as one operation (fvcore's "flop"); ``gflops`` is
2 x macs / 1e9, the unit of a hardware's matmul rate. What is counted: convolutions, linear layers,
matmul / bmm / einsum, scaled-dot-product attention (a handle added here: QK^T and AV), norms, bilinear
up-sampling and grid sampling (mmcv MSDA's CPU path samples with ``grid_sample``: 4 per output value).
Not counted (listed under ``uncounted_ops`` with how often they ran): element-wise ops (activations,
additions, MSDA's weighted sum over points, softmax) and the M0 prior's eigendecomposition; they are
memory-bound and a few percent of the total at most.
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/ for _common

COMPONENTS = OrderedDict([
    ('vit', ('backbone', )),
    ('edge_enhancer', ('neck', )),
    ('  edge_resnet', ('neck.edge_backbone', 'neck.edge_proj')),
    ('  interactions', ('neck.interactions', )),
    ('pixel_decoder', ('decode_head.pixel_decoder', )),
    ('transformer_decoder', ('decode_head', )),  # minus the pixel decoder, see _component_counts
])


def sdpa_flop_jit(inputs, outputs) -> int:
    """MACs of ``aten::scaled_dot_product_attention``: ``Q K^T`` and ``softmax(.) V``."""
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for d in q[:-2]:
        batch *= d
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


class _InferencePath(nn.Module):
    """``model.encode_decode`` as a module with one tensor input, for tracing."""

    def __init__(self, model: nn.Module, img_shape: Sequence[int]):
        super().__init__()
        self.model = model
        h, w = img_shape
        self.metas = [dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w))]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model.encode_decode(inputs, self.metas * inputs.shape[0])


def quiet_logs() -> None:
    """Keep mmengine's per-parameter INFO lines (init, paramwise options) out of the report."""
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)


def build_model(config: str, cfg_options: Optional[dict] = None, device: str = 'cpu') -> nn.Module:
    """The config's model with its constructors' random weights, in eval mode, on ``device``.

    ``init_weights`` is not called: FLOPs and speed do not depend on the values, and it would log a
    line per parameter.
    """
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401  (registers the components)
    from _common import load_config
    from focus_mm.utils import build_offline_model

    quiet_logs()
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = build_offline_model(cfg.model)
    return model.to(device).eval()


def input_channels(model: nn.Module) -> int:
    """6 (image + edge-blended image) when the neck has an edge branch, else 3."""
    neck = getattr(model, 'neck', None)
    return 6 if getattr(neck, 'drives_backbone', False) and getattr(neck, 'with_edge', False) else 3


def count_params(model: nn.Module) -> Dict[str, int]:
    """Parameters per component (``total`` included)."""
    named = dict(model.named_parameters())
    out = OrderedDict()
    for name, prefixes in COMPONENTS.items():
        heads = tuple(prefix + '.' for prefix in prefixes)
        out[name.strip()] = sum(p.numel() for n, p in named.items() if n.startswith(heads))
    out['transformer_decoder'] -= out['pixel_decoder']
    out['total'] = sum(p.numel() for p in named.values())
    return out


def _component_counts(by_module: Dict[str, int], total: int) -> Dict[str, int]:
    out = OrderedDict()
    for name, prefixes in COMPONENTS.items():
        out[name.strip()] = sum(by_module.get(f'model.{p}', 0) for p in prefixes)
    out['transformer_decoder'] -= out['pixel_decoder']
    top_level = ('vit', 'edge_enhancer', 'pixel_decoder', 'transformer_decoder')
    out['other'] = total - sum(out[name] for name in top_level)  # ops outside any module (final resize)
    out['total'] = total
    return out


def analyze(model: nn.Module, shape: Sequence[int], batch_size: int = 1) -> dict:
    """Parameters and MACs per component for one forward of ``batch_size`` images of ``shape``.

    Returns:
        dict: ``params``, ``macs`` (per image), ``gflops`` (2 x macs / 1e9, per image),
        ``uncounted_ops`` (op name -> number of calls) and the input description.
    """
    from mmengine.analysis import FlopAnalyzer

    device = next(model.parameters()).device
    inputs = torch.randn(batch_size, input_channels(model), *shape, device=device)
    wrapper = _InferencePath(model, shape).eval()
    analyzer = FlopAnalyzer(wrapper, (inputs, ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
        by_module = analyzer.by_module()
        uncounted = analyzer.unsupported_ops()
    macs = {k: v // batch_size for k, v in _component_counts(by_module, total).items()}
    return OrderedDict(
        input=dict(batch_size=batch_size, channels=inputs.shape[1], height=shape[0], width=shape[1]),
        params=count_params(model),
        macs=macs,
        gflops={k: 2 * v / 1e9 for k, v in macs.items()},
        uncounted_ops=dict(sorted(uncounted.items(), key=lambda kv: -kv[1])))


def format_table(result: dict) -> str:
    lines = [f'{"component":22s} {"params":>15s} {"GMACs":>10s} {"GFLOPs":>10s} {"share":>7s}']
    total = max(result['macs']['total'], 1)
    for name, macs in result['macs'].items():
        params = result['params'].get(name)
        label = ('  ' if name in ('edge_resnet', 'interactions') else '') + name
        params = f'{params:,}' if params is not None else '-'
        lines.append(f'{label:22s} {params:>15s} {macs / 1e9:10.2f} {2 * macs / 1e9:10.2f} '
                     f'{macs / total:7.1%}')
    ops = ', '.join(f'{k.replace("aten::", "")} x{v}' for k, v in list(result['uncounted_ops'].items())[:12])
    lines.append(f'not counted (element-wise / other ops, calls): {ops}')
    return '\n'.join(lines)


def add_model_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments this tool and benchmark.py share: the config, the input size and batch, torch's
    threads, the JSON file and ``--cfg-options``."""
    from _common import add_cfg_options
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s)')
    parser.add_argument('--json', help='also write the numbers to this file')
    add_cfg_options(parser)


def write_json(result: dict, path: Optional[str]) -> None:
    """Write ``result`` to ``path`` (folders created) and say so; nothing when ``path`` is None."""
    if not path:
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written {path}')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_model_input_arguments(parser)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_model(args.config, args.cfg_options)
    result = analyze(model, args.shape, args.batch_size)
    result['config'] = osp.relpath(args.config) if osp.exists(args.config) else args.config
    print(f'{result["config"]}: input {result["input"]["channels"]} x {args.shape[0]} x {args.shape[1]}, '
          'per image (1 MAC = 1 multiply-add, GFLOPs = 2 x GMACs)')
    print(format_table(result))
    write_json(result, args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
