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
import os.path as osp
import sys

import torch

from focus_mm.utils.cli import add_model_input_arguments, write_json
from focus_mm.utils.benchmarking import analyze, build_model


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
