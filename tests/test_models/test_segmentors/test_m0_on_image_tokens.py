"""M0 on the image's own tokens, end to end: the tiny FOCUS stack (DINOv2, edge enhancer, head)."""
import pytest
import torch
from mmseg.structures import SegDataSample

from _tiny_models import build_model, synthetic_foreground_batch, tiny_focus_segmentor_cfg


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def _priors(model, images):
    """The head's M0 of each image in one test batch (padded to the largest, as the preprocessor does)."""
    samples = []
    for image in images:
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=tuple(image.shape[-2:]), ori_shape=tuple(image.shape[-2:])))
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
    return model.decode_head.compute_prior(feats, [s.metainfo for s in data['data_samples']])


def test_prior_alone_and_padded_in_a_batch_agree():
    """A 64 x 64 image alone (5 x 5 tokens) and in a batch with a 64 x 96 image (5 x 7 tokens)."""
    torch.manual_seed(0)
    model = build_model(tiny_focus_segmentor_cfg(prior=True)).eval()
    images, _ = synthetic_foreground_batch(4, size=96, seed=1, channels=6)
    wide = images[-1][:, :64, :96].contiguous()
    for image in images[:3]:
        square = image[:, :64, :64].contiguous()
        alone = _priors(model, [square])[0]
        padded = _priors(model, [square, wide])[0]
        assert alone.shape == (5, 5) and padded.shape == (5, 7)
        agree = (padded[:, :5] == alone).float().mean()
        assert agree >= 0.99, agree
        assert not padded[:, 5:].any()
        assert 0 < alone.sum() < alone.numel()


def test_prior_patch_size_must_be_the_vit_patch_size():
    cfg = tiny_focus_segmentor_cfg(prior=True, prior_patch_size=16)
    match = r'prior_patch_size=16 but .* 14 x 14 pixels; set decode_head.prior_patch_size=14'
    with pytest.raises(ValueError, match=match):
        build_model(cfg)
    build_model(tiny_focus_segmentor_cfg(prior=False, prior_patch_size=16))  # M0 off: nothing to place
