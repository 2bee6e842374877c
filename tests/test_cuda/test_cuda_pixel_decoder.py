"""FocusPixelDecoder on the GPU (MSDA CUDA kernel) against the same weights on the CPU (PyTorch path)."""
import math

import torch
from cuda_utils import CUDA_MARKS, rel_error

from focus_mm.models.decode_heads import FocusPixelDecoder

pytestmark = CUDA_MARKS


def test_pixel_decoder_cuda_matches_cpu():
    torch.manual_seed(0)
    decoder = FocusPixelDecoder(in_channels=[16, 24, 32, 40], feat_channels=32, out_channels=24,
                                num_encoder_layers=2, num_heads=4, feedforward_channels=64,
                                norm_cfg=dict(type='GN', num_groups=8))
    decoder.init_weights()
    with torch.no_grad():  # mmcv zero-initialises the sampling offsets: random ones test the sampling
        for name, p in decoder.named_parameters():
            if 'sampling_offsets' in name or 'attention_weights' in name:
                p.normal_(0, 0.2)
    decoder.eval()
    h, w = 96, 160
    feats = [torch.randn(2, c, math.ceil(h / s), math.ceil(w / s), requires_grad=True)
             for c, s in zip((16, 24, 32, 40), (4, 8, 16, 32))]
    cpu_mask, cpu_levels = decoder(feats)
    (cpu_mask.square().sum() + sum(level.sum() for level in cpu_levels)).backward()
    cpu_grads = [f.grad.clone() for f in feats]

    gpu = decoder.cuda()
    gpu_feats = [f.detach().cuda().requires_grad_() for f in feats]
    gpu_mask, gpu_levels = gpu(gpu_feats)
    (gpu_mask.square().sum() + sum(level.sum() for level in gpu_levels)).backward()
    assert rel_error(gpu_mask, cpu_mask) < 1e-4
    for gpu_level, cpu_level in zip(gpu_levels, cpu_levels):
        assert rel_error(gpu_level, cpu_level) < 1e-4
    for gpu_feat, cpu_grad in zip(gpu_feats, cpu_grads):
        assert rel_error(gpu_feat.grad, cpu_grad) < 1e-3
