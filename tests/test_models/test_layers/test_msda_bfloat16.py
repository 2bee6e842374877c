"""The bfloat16 route of mmcv's deformable attention (focus_mm/models/layers/msda_bfloat16.py)."""
import torch


def test_msda_bf16_runs_mmcv_function_in_float32(monkeypatch):
    """mmcv's MSDA CUDA kernel has no bfloat16: the module's call is routed through a shim that runs it in
    float32 and returns bfloat16 (the kernel is stood in for by mmcv's PyTorch path, recording dtypes)."""
    from mmcv.ops import multi_scale_deform_attn as msda

    from focus_mm.models.layers.msda_bfloat16 import MSDAFunctionBF16AsFloat32

    assert msda.MultiScaleDeformableAttnFunction is MSDAFunctionBF16AsFloat32
    seen = []

    class KernelStandIn:
        @staticmethod
        def apply(value, shapes, start, loc, weights, im2col_step):
            seen.append((value.dtype, loc.dtype, weights.dtype))
            return msda.multi_scale_deformable_attn_pytorch(value, shapes, loc, weights)

    monkeypatch.setattr(MSDAFunctionBF16AsFloat32, 'function', KernelStandIn)
    shapes = torch.tensor([[6, 5], [3, 2]])
    start = torch.tensor([0, 30])
    value = torch.randn(2, 36, 2, 4).bfloat16().requires_grad_()
    loc = torch.rand(2, 7, 2, 2, 3, 2, requires_grad=True)
    weights = torch.rand(2, 7, 2, 2, 3).requires_grad_()
    out = MSDAFunctionBF16AsFloat32.apply(value, shapes, start, loc, weights, 64)
    assert seen == [(torch.float32, torch.float32, torch.float32)]
    assert out.dtype == torch.bfloat16 and out.shape == (2, 7, 8)
    expected = msda.multi_scale_deformable_attn_pytorch(value.double(), shapes, loc.double(),
                                                        weights.double())
    torch.testing.assert_close(out.double(), expected, rtol=1e-2, atol=1e-2)
    out.float().sum().backward()
    assert value.grad.dtype == torch.bfloat16 and value.grad.abs().sum() > 0
    assert loc.grad.dtype == torch.float32 and loc.grad.abs().sum() > 0

    MSDAFunctionBF16AsFloat32.apply(value.float(), shapes, start, loc, weights.half(), 64)
    assert seen[-1] == (torch.float32, torch.float32, torch.float16)  # other dtypes: passed on unchanged
