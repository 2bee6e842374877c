"""One tester that every architecture goes through: forward + backward, any input size, save/load, export.

Add an architecture to ARCHITECTURES and it gets all the checks (segmentation_models_pytorch style).
"""

import numpy as np
import pytest
import torch

from _tiny_models import (build_model, single_thread, synthetic_foreground_batch, tiny_focus_segmentor_cfg,
                          tiny_resnet_segmentor_cfg)
from mmseg.structures import SegDataSample

# name -> (config factory, input channels: 6 = image + edge-blended image, 3 = image only)
ARCHITECTURES = {
    'focus_tiny_m0': (lambda: tiny_focus_segmentor_cfg(prior=True), 6),
    'focus_tiny_no_m0': (lambda: tiny_focus_segmentor_cfg(prior=False), 6),
    'ground_queries_resnet': (tiny_resnet_segmentor_cfg, 3),
}
SIZES = [(64, 64), (70, 97), (96, 128)]  # square, odd, non-square


def _sample(h, w):
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    return sample


def _image(h, w, channels, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 255, (channels, h, w)).astype(np.float32))


def _predict(model, h, w, channels):
    with torch.no_grad():
        return model.test_step(dict(inputs=[_image(h, w, channels)], data_samples=[_sample(h, w)]))[0]


@pytest.fixture(params=sorted(ARCHITECTURES))
def arch(request):
    factory, channels = ARCHITECTURES[request.param]
    with single_thread():
        yield request.param, factory, channels


def test_forward_backward(arch):
    _, factory, channels = arch
    model = build_model(factory())
    model.train()
    images, samples = synthetic_foreground_batch(2, 64, channels=channels)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    losses = model.loss(**data)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f'parameters outside the graph: {missing[:10]}'
    assert sum(p.grad.abs().sum() for p in model.parameters() if p.grad is not None) > 0


@pytest.mark.parametrize('size', SIZES, ids=lambda s: f'{s[0]}x{s[1]}')
def test_any_input_size(arch, size):
    _, factory, channels = arch
    model = build_model(factory()).eval()
    out = _predict(model, *size, channels)
    assert tuple(out.seg_logits.data.shape) == (1, *size)
    assert tuple(out.pred_sem_seg.data.shape) == (1, *size)
    prob = out.seg_logits.data
    assert 0 <= prob.min() and prob.max() <= 1
    torch.testing.assert_close(out.pred_sem_seg.data.float(), (prob > 0.5).float())


def test_save_load_roundtrip(arch, tmp_path):
    from focus_mm.apis import load_model_checkpoint

    _, factory, channels = arch
    model = build_model(factory()).eval()
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    torch.manual_seed(123)  # a different random initialisation for the copy
    copy_ = build_model(factory()).eval()
    before = _predict(copy_, 64, 96, channels).seg_logits.data
    load_model_checkpoint(copy_, str(path))
    ref = _predict(model, 64, 96, channels).seg_logits.data
    after = _predict(copy_, 64, 96, channels).seg_logits.data
    torch.testing.assert_close(after, ref)
    assert not torch.allclose(before, ref), 'the copy was identical before loading: the test proves nothing'


def test_torchscript_export(arch, tmp_path):
    from focus_mm.apis import export_torchscript

    _, factory, channels = arch
    model = build_model(factory()).eval()
    shape = (1, channels, 64, 96)
    traced = export_torchscript(model, shape)
    traced.save(str(tmp_path / 'model.ts'))
    loaded = torch.jit.load(str(tmp_path / 'model.ts'))
    x = torch.randn(shape)
    with torch.no_grad():
        metas = [dict(img_shape=(64, 96), ori_shape=(64, 96), pad_shape=(64, 96), padding_size=[0, 0, 0, 0])]
        ref = model.encode_decode(x, metas)
        out = loaded(x)
    assert out.shape == (1, 1, 64, 96)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
