"""mmcv's MSDA CUDA kernel (forward and backward) against mmcv's PyTorch reference, fp32 / fp16 / bf16."""
import pytest
import torch
from cuda_utils import CUDA_MARKS, rel_error
from mmcv.ops import multi_scale_deform_attn as msda

pytestmark = CUDA_MARKS

SHAPES = [(13, 17), (7, 9), (4, 5)]  # three non-square levels
# Relative error (norms) of the kernel against float64 PyTorch on the same (rounded) inputs.
# fp32: atomics and fma order only. bf16 runs in float32 (focus_mm.models.layers.msda_bfloat16) with a
# bf16 output: its 8-bit mantissa, 2^-8 = 3.9e-3. fp16 runs in half (sampling locations included:
# 2^-11 of the map's side).
TOLERANCE = {torch.float32: (1e-5, 1e-4), torch.bfloat16: (8e-3, 2e-2), torch.float16: (3e-3, 2e-2)}


def _inputs(dtype, batch=2, queries=30, heads=4, head_dims=8, points=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = torch.tensor(SHAPES)
    start = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    num_value = int((shapes[:, 0] * shapes[:, 1]).sum())
    value = torch.randn(batch, num_value, heads, head_dims, generator=gen).to(dtype)
    # some points fall outside the map (zero padding there)
    loc = torch.rand(batch, queries, heads, len(SHAPES), points, 2, generator=gen) * 1.2 - 0.1
    weights = torch.rand(batch, queries, heads, len(SHAPES) * points, generator=gen).softmax(-1)
    weights = weights.view(batch, queries, heads, len(SHAPES), points)
    if dtype == torch.float16:  # half kernels take every input in half
        loc, weights = loc.half(), weights.half()
    return value, shapes, start, loc, weights


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_kernel_matches_pytorch_reference(dtype):
    value, shapes, start, loc, weights = _inputs(dtype)
    grad_out = torch.randn(value.shape[0], loc.shape[1], value.shape[2] * value.shape[3],
                           generator=torch.Generator().manual_seed(1))

    ref_in = [t.double().requires_grad_() for t in (value, loc, weights)]
    ref = msda.multi_scale_deformable_attn_pytorch(ref_in[0], shapes, ref_in[1], ref_in[2])
    ref.backward(grad_out.double())

    cuda_in = [t.cuda().requires_grad_() for t in (value, loc, weights)]
    # the function MultiScaleDeformableAttention calls (bf16 through msda_bfloat16's float32 route)
    out = msda.MultiScaleDeformableAttnFunction.apply(cuda_in[0], shapes.cuda(), start.cuda(), cuda_in[1],
                                                      cuda_in[2], 64)
    assert out.dtype == dtype and out.shape == ref.shape
    out.backward(grad_out.cuda().to(dtype))
    out_tol, grad_tol = TOLERANCE[dtype]
    errors = {'output': rel_error(out, ref)}
    errors.update({f'grad {name}': rel_error(c.grad, r.grad)
                   for name, c, r in zip(('value', 'locations', 'weights'), cuda_in, ref_in)})
    print(f'MSDA {dtype}:', {k: f'{v:.2e}' for k, v in errors.items()})
    assert errors['output'] < out_tol, errors
    assert all(err < grad_tol for name, err in errors.items() if name != 'output'), errors
    assert all(c.grad.dtype == c.dtype for c in cuda_in)


def test_module_under_bf16_autocast_matches_float32():
    """MultiScaleDeformableAttention inside torch.autocast(bfloat16), as in a bf16 AMP run (the kernel has
    no bf16: without focus_mm.models.layers.msda_bfloat16 this raises 'not implemented for
    BFloat16')."""
    torch.manual_seed(0)
    dims = 32
    attn = msda.MultiScaleDeformableAttention(embed_dims=dims, num_heads=4, num_levels=3, num_points=4,
                                              batch_first=True).cuda()
    with torch.no_grad():
        for p in attn.parameters():
            p.normal_(0, 0.1)
    shapes = torch.tensor(SHAPES, device='cuda')
    start = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    value = torch.randn(2, int((shapes[:, 0] * shapes[:, 1]).sum()), dims, device='cuda')
    query = torch.randn(2, 25, dims, device='cuda')
    ref_points = torch.rand(2, 25, 3, 2, device='cuda')
    kwargs = dict(query=query, value=value, identity=torch.zeros_like(query), reference_points=ref_points,
                  spatial_shapes=shapes, level_start_index=start)
    expected = attn(**kwargs)
    with torch.autocast('cuda', dtype=torch.bfloat16):
        actual = attn(**kwargs)
    assert torch.isfinite(actual).all()
    assert rel_error(actual, expected) < 3e-2  # bf16 linear layers around the kernel
