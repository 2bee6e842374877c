"""Count the parameters of the full-size FOCUS parts and compare them with the authors' model.

    python tools/analysis_tools/count_params.py [--arch large giant]

The parts are built on the ``meta`` device (no memory, no weights), so this takes seconds. Exits with
status 1 when a part differs from the authors' count by more than 2%.
"""
import argparse
import sys
from typing import Dict

import torch
from torch import nn

import focus_mm  # noqa: F401  (registers the components)
from focus_mm.models.backbones import DINOv2
from focus_mm.models.decode_heads import FocusPixelDecoder
from focus_mm.models.necks import EdgeEnhancerNeck

# The authors' counts: the modules of their code (geshang777/FOCUS) built on CPU and counted; the table with
# ours beside them is in docs/model_zoo.md.
AUTHORS = {
    'large': {'vit': 304_365_568, 'edge_resnet_and_proj': 27_444_288, 'interactions': 17_269_632,
              'adapter_extras': 4_206_592, 'pixel_decoder': 6_101_440},
    'giant': {'vit': 1_136_476_160, 'edge_resnet_and_proj': 29_412_416, 'interactions': 38_782_272,
              'adapter_extras': 9_455_616, 'pixel_decoder': 6_625_728},
}
NECK_HEADS = {'large': 16, 'giant': 24}
TOLERANCE = 0.02


def _count(*modules) -> int:
    return sum(p.numel() for m in modules for p in (m.parameters() if isinstance(m, nn.Module) else [m]))


def count_parts(arch: str) -> Dict[str, int]:
    """Build the full-size parts of ``arch`` ('large' or 'giant') on the meta device and count them."""
    with torch.device('meta'):
        vit = DINOv2(arch=arch)
        dim = vit.embed_dims
        neck = EdgeEnhancerNeck(embed_dims=dim, num_heads=NECK_HEADS[arch], norm_cfg=dict(type='SyncBN'))
        decoder = FocusPixelDecoder(in_channels=[dim] * 4)
    return {
        'vit': _count(vit),
        'edge_resnet_and_proj': _count(neck.edge_backbone, neck.edge_proj),
        'interactions': _count(neck.interactions),
        'adapter_extras': _count(neck.level_embed, neck.up, neck.norms),
        'pixel_decoder': _count(decoder),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', nargs='+', default=['large', 'giant'], choices=list(AUTHORS))
    args = parser.parse_args()
    ok = True
    for arch in args.arch:
        print(f'DINOv2-{arch}')
        print(f'  {"part":24s} {"ours":>15s} {"authors":>15s} {"diff":>9s}')
        for part, ours in count_parts(arch).items():
            ref = AUTHORS[arch][part]
            diff = (ours - ref) / ref
            ok &= abs(diff) <= TOLERANCE
            print(f'  {part:24s} {ours:15,d} {ref:15,d} {diff:+9.4%}')
    print('all parts within 2%' if ok else 'SOME PARTS DIFFER BY MORE THAN 2%')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
