"""The full-size FOCUS-L forward at 512 x 512 in bf16 on the GPU (random weights), its peak memory printed."""
import torch
from cuda_utils import CUDA_MARKS

from focus_mm.utils.benchmarking import build_model

pytestmark = CUDA_MARKS
CONFIG = 'configs/focus/focus_dinov2-l_2xb4-20k_sod-512x512.py'


def test_focus_l_forward_512_bf16(repo_root):
    model = build_model(f'{repo_root}/{CONFIG}', device='cuda')
    inputs = torch.randn(1, 6, 512, 512, device='cuda')
    metas = [dict(img_shape=(512, 512), pad_shape=(512, 512), ori_shape=(512, 512))]
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16):
        logits = model.encode_decode(inputs, metas)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    print(f'FOCUS-L 512x512 bf16 forward on {torch.cuda.get_device_name()}: peak {peak / 2**20:.0f} MiB '
          f'allocated (weights {base / 2**20:.0f} MiB + {(peak - base) / 2**20:.0f} MiB)')
    assert logits.shape[0] == 1 and logits.shape[-2:] == (512, 512)
    assert torch.isfinite(logits.float()).all()
