"""FocusInferencer (an mmengine BaseInferencer) with a random mini model: sizes, pipeline, steps."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from _tiny_models import odd_format_images, save_random_mini_checkpoint
from focus_mm.apis import FocusInferencer, ForegroundPrediction
from focus_mm.datasets.image_io import read_image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')

rng = np.random.default_rng(0)
IMAGES = odd_format_images(rng)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_mini_checkpoint(tmp_path_factory.mktemp('ckpt'))


def test_lean_full_size_maps_equal_mmseg_postprocess(checkpoint):
    inferencer = FocusInferencer(CONFIG, checkpoint)
    img = IMAGES['photo.jpg']  # 90 x 120: resized, padded, then brought back
    ours = inferencer(img)[0]
    with torch.no_grad():
        sample = inferencer.model.test_step(pseudo_collate([inferencer.pipeline(dict(img=img))]))[0]
    np.testing.assert_array_equal(ours.prob, sample.seg_logits.data[0].numpy())
    np.testing.assert_array_equal(ours.mask, sample.pred_sem_seg.data[0].numpy().astype(np.uint8))


def test_inference_and_test_pipeline_see_the_same_pixels(checkpoint, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = str(tmp_path / 'exif.jpg')
    Image.fromarray(IMAGES['photo.jpg'][..., ::-1]).save(path, exif=exif.tobytes(), quality=90)
    inferencer = FocusInferencer(CONFIG, checkpoint)
    steps = [s for s in Config.fromfile(CONFIG).test_pipeline if s['type'] != 'LoadForegroundMask']
    from_test = Compose(steps)(dict(img_path=path))
    from_infer = inferencer.pipeline(dict(img=read_image(path)))
    assert torch.equal(from_test['inputs'], from_infer['inputs'])
    assert inferencer(path)[0].mask.shape == (120, 90)  # the displayed (rotated) size


def test_inferencer_api_returns_arrays_at_original_size(checkpoint):
    inferencer = FocusInferencer(CONFIG, checkpoint, batch_size=2)
    arrays = list(IMAGES.values())
    results = inferencer(arrays)
    assert len(results) == len(arrays)
    for img, res in zip(arrays, results):
        assert res.mask.shape == res.prob.shape == img.shape[:2]
        assert res.mask.dtype == np.uint8 and res.prob.dtype == np.float32
        assert 0 <= res.prob.min() and res.prob.max() <= 1
        np.testing.assert_array_equal(res.mask, (res.prob > 0.5).astype(np.uint8))
    # deterministic, and independent of the batch it ran in
    again = inferencer(arrays[1])[0]
    np.testing.assert_allclose(again.prob, results[1].prob, atol=1e-5)


def test_checkpoint_of_another_model_is_refused(tmp_path):
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.layer1.weight': torch.zeros(3)}}, other)
    with pytest.raises(RuntimeError, match=r'does not fit this model.*missing keys'):
        FocusInferencer(CONFIG, str(other))


@pytest.fixture(scope='module')
def inferencer(checkpoint):
    return FocusInferencer(CONFIG, checkpoint, batch_size=2)


def test_registered_in_the_inferencers_registry(checkpoint):
    from mmengine.infer import BaseInferencer

    from focus_mm.registry import INFERENCERS
    from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS

    assert issubclass(FocusInferencer, BaseInferencer)
    assert INFERENCERS.get('FocusInferencer') is FocusInferencer  # in the child itself
    assert MMSEG_INFERENCERS.get('focus_mm.FocusInferencer') is FocusInferencer
    built = INFERENCERS.build(
        dict(type='focus_mm.FocusInferencer', config=CONFIG, checkpoint=checkpoint, batch_size=3))
    assert isinstance(built, FocusInferencer) and built.batch_size == 3


def test_folder_input_gives_its_images_sorted(inferencer, tmp_path):
    names = ('b.png', 'A.JPG', 'c.gif')
    for name in names:
        Image.fromarray(IMAGES['photo.jpg'][..., ::-1]).save(tmp_path / name)
    (tmp_path / 'notes.txt').write_text('not an image')
    results = inferencer(str(tmp_path))
    assert [osp.basename(r.source) for r in results] == ['A.JPG', 'b.png', 'c.gif']
    assert all(r.mask.shape == (90, 120) for r in results)


def test_steps_and_their_keyword_arguments(inferencer):
    arrays = [IMAGES['photo.jpg'], IMAGES['gray.png']]
    plain = inferencer(arrays)
    assert [r.source for r in plain] == ['<array 0>', '<array 1>'] and plain[0].overlay is None
    with_vis = inferencer(arrays, return_vis=True, opacity=1.0)
    for ours, img in zip(with_vis, arrays):
        assert ours.overlay.shape == img.shape[:2] + (3, ) and ours.overlay.dtype == np.uint8
    np.testing.assert_array_equal(with_vis[0].prob, plain[0].prob)
    # the interior: away from the mask's outline and from the image's edge (where the outline is drawn too)
    eroded = cv2.erode(with_vis[0].mask, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                       borderValue=0)
    inside = eroded > 0
    if inside.any():  # opacity 1: the foreground's interior is pure red
        assert (with_vis[0].overlay[inside] == (0, 0, 255)).all()
    samples = inferencer(arrays, return_datasamples=True)
    np.testing.assert_array_equal(samples[1].pred_sem_seg.data[0].numpy().astype(np.uint8), plain[1].mask)
    np.testing.assert_allclose(samples[1].seg_logits.data[0].numpy(), plain[1].prob, atol=1e-6)
    with pytest.raises(ValueError, match='unknown_option'):
        inferencer(arrays, unknown_option=1)


def test_iter_predictions_equals_the_call(inferencer):
    arrays = list(IMAGES.values())
    streamed = list(inferencer.iter_predictions(arrays, batch_size=3))
    called = inferencer(arrays)
    assert all(isinstance(r, ForegroundPrediction) for r in streamed)
    for a, b in zip(streamed, called):
        assert a.source == b.source
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_allclose(a.prob, b.prob, atol=1e-6)
