"""FocusDataPreProcessor: per-half BGR->RGB and normalisation, padding, 3-channel inputs, bad input."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def build(**kwargs):
    cfg = dict(type='FocusDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True, size_divisor=32)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def sample(h, w):
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=torch.ones(1, h, w, dtype=torch.int64))
    s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    return s


def _expected(half_bgr):
    rgb = half_bgr.float()[[2, 1, 0]]
    return (rgb - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)


def test_six_channels_each_half_flipped_and_normalised_then_padded():
    img = torch.randint(0, 256, (6, 40, 50), dtype=torch.uint8)
    out = build()(dict(inputs=[img], data_samples=[sample(40, 50)]), training=True)
    inputs, ds = out['inputs'], out['data_samples'][0]
    assert inputs.shape == (1, 6, 64, 64)
    torch.testing.assert_close(inputs[0, :3, :40, :50], _expected(img[:3]))
    torch.testing.assert_close(inputs[0, 3:, :40, :50], _expected(img[3:]))
    assert (inputs[0, :, 40:] == 0).all() and (inputs[0, :, :, 50:] == 0).all()  # image pad 0
    gt = ds.gt_sem_seg.data
    assert gt.shape == (1, 64, 64) and (gt[:, 40:] == 255).all() and (gt[:, :40, :50] == 1).all()


def test_three_channel_inputs_still_work():
    img = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    out = build()(dict(inputs=[img], data_samples=[sample(32, 32)]), training=True)
    assert out['inputs'].shape == (1, 3, 32, 32)
    torch.testing.assert_close(out['inputs'][0], _expected(img))


def test_test_mode_pads_images_only_and_records_the_padding():
    imgs = [torch.randint(0, 256, (6, 40, 50), dtype=torch.uint8),
            torch.randint(0, 256, (6, 30, 70), dtype=torch.uint8)]
    samples = [sample(40, 50), sample(30, 70)]
    out = build()(dict(inputs=imgs, data_samples=samples), training=False)
    assert out['inputs'].shape == (2, 6, 64, 96)
    assert [int(v) for v in out['data_samples'][0].img_padding_size] == [0, 46, 0, 24]  # l, r, t, b
    assert out['data_samples'][1].gt_sem_seg.data.shape == (1, 30, 70)  # masks keep their size


@pytest.mark.parametrize('channels', [1, 4])
def test_other_channel_counts_are_refused(channels):
    img = torch.zeros(channels, 16, 16, dtype=torch.uint8)
    with pytest.raises(ValueError, match=rf'\({channels}, 16, 16\).*EdgePrior'):
        build()(dict(inputs=[img], data_samples=[sample(16, 16)]), training=True)


def test_mean_std_must_have_three_values():
    with pytest.raises(ValueError, match='3-value mean and std'):
        build(mean=MEAN * 2, std=STD * 2)
