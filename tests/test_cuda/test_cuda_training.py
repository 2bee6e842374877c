"""One training step of a tiny FOCUS on the GPU under AMP (fp16 with loss scaling, bf16) against float32."""
import pytest
import torch
from cuda_utils import CUDA_MARKS
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from _tiny_models import build_model, synthetic_foreground_batch, tiny_focus_segmentor_cfg

pytestmark = CUDA_MARKS

# |loss_amp - loss_fp32| / loss_fp32 of the first step (same weights, batch and sampled points): fp16 keeps
# 11 mantissa bits, bf16 8; the losses sum thousands of point terms, so the error averages down.
LOSS_TOLERANCE = {'float16': 1e-2, 'bfloat16': 3e-2}


def _one_step(precision: str):
    torch.manual_seed(0)
    model = build_model(tiny_focus_segmentor_cfg()).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    if precision == 'float32':
        wrapper = OptimWrapper(optimizer=optimizer)
    else:
        wrapper = AmpOptimWrapper(optimizer=optimizer, dtype=precision, loss_scale='dynamic')
    images, samples = synthetic_foreground_batch(num_images=2, size=96, channels=6)
    model.train()
    torch.manual_seed(1)  # the same sampled points in every run
    log_vars = model.train_step(dict(inputs=images, data_samples=samples), wrapper)
    return model, wrapper, log_vars


@pytest.mark.parametrize('precision', ['float16', 'bfloat16'])
def test_amp_step_is_finite_and_matches_float32(precision):
    _, _, reference = _one_step('float32')
    model, wrapper, log_vars = _one_step(precision)
    loss, expected = float(log_vars['loss']), float(reference['loss'])
    print(f'{precision}: loss {loss:.6f}, float32 {expected:.6f}, scale {wrapper.loss_scaler.get_scale()}')
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in log_vars.values())
    assert abs(loss - expected) / abs(expected) < LOSS_TOLERANCE[precision]
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the update was applied finite
    if precision == 'float16':
        assert wrapper.loss_scaler.get_scale() > 1  # loss scaling on (dynamic, starts at 2^16)
