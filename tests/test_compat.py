"""The stack workarounds in focus_mm.compat, and mmcv's compiled ops on this torch."""
import os

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader


def test_mmcv_compiled_ops_import():
    import mmcv
    import mmcv._ext  # noqa: F401  (the compiled extension, not mmcv-lite)
    assert mmcv.__version__ == '2.1.0'


def test_msda_forward_backward_on_cpu():
    from mmcv.ops import MultiScaleDeformableAttention

    torch.manual_seed(0)
    dims, levels = 32, 3
    attn = MultiScaleDeformableAttention(embed_dims=dims, num_heads=4, num_levels=levels, num_points=4,
                                         batch_first=True)
    # mmcv zero-initialises the offset and attention-weight projections, which makes the output
    # independent of the query at init; random weights exercise the full gradient path.
    with torch.no_grad():
        for p in attn.parameters():
            p.normal_(0, 0.1)
    shapes = torch.tensor([[16, 16], [8, 8], [4, 4]])
    start = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    num_value = int((shapes[:, 0] * shapes[:, 1]).sum())
    query = torch.randn(2, 20, dims, requires_grad=True)
    value = torch.randn(2, num_value, dims, requires_grad=True)
    ref = torch.rand(2, 20, levels, 2)
    out = attn(query=query, value=value, identity=torch.zeros_like(query), reference_points=ref,
               spatial_shapes=shapes, level_start_index=start)
    assert out.shape == (2, 20, dims)
    assert torch.isfinite(out).all()
    out.square().sum().backward()
    assert value.grad.abs().sum() > 0 and query.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in attn.parameters())


def test_local_loader_is_ours_and_reports_missing_file(tmp_path):
    loader = CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'x.pth'))
    assert loader.__module__ == 'focus_mm.compat'
    with pytest.raises(FileNotFoundError, match='x.pth'):
        loader(str(tmp_path / 'x.pth'))


def test_safe_load_of_mmengine_training_state(tmp_path):
    """A MessageHub state (HistoryBuffer, numpy) loads with weights_only=True: no full unpickle needed."""
    import numpy as np
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance('compat_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 3)
    path = tmp_path / 'state.pth'
    torch.save({'message_hub': hub.state_dict(), 'meta': {'seed': np.int64(3), 'arr': np.arange(3)},
                'state_dict': {'w': torch.ones(2)}}, path)
    loader = CheckpointLoader._get_checkpoint_loader(str(path))
    ckpt = loader(str(path), map_location='cpu')
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(1.0)
    assert ckpt['meta']['arr'].tolist() == [0, 1, 2]


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


def test_arbitrary_objects_need_an_explicit_opt_in(tmp_path, monkeypatch):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _Evil()}, path)
    loader = CheckpointLoader._get_checkpoint_loader(str(path))
    monkeypatch.delenv('FOCUS_TRUSTED_CHECKPOINTS', raising=False)
    with pytest.raises(RuntimeError, match='FOCUS_TRUSTED_CHECKPOINTS'):
        loader(str(path))
    monkeypatch.setenv('FOCUS_TRUSTED_CHECKPOINTS', '1')
    assert loader(str(path))['x'] == os.getcwd()


def test_msda_bf16_runs_mmcv_function_in_float32(monkeypatch):
    """mmcv's MSDA CUDA kernel has no bfloat16: the module's call is routed through a shim that runs it in
    float32 and returns bfloat16 (the kernel is stood in for by mmcv's PyTorch path, recording dtypes)."""
    from mmcv.ops import multi_scale_deform_attn as msda

    from focus_mm.compat import MSDAFunctionBF16AsFloat32

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
