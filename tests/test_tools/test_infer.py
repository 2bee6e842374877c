"""tools/infer.py and FocusInferencer on a folder of mixed images, with a randomly initialised mini model."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')

# name -> (array, shape of the original image)
rng = np.random.default_rng(0)
IMAGES = {
    'photo.jpg': rng.integers(0, 255, (90, 120, 3), dtype=np.uint8),
    'alpha.png': rng.integers(0, 255, (64, 48, 4), dtype=np.uint8),
    'gray.png': rng.integers(0, 255, (50, 70), dtype=np.uint8),
    'deep.png': rng.integers(0, 65535, (40, 60, 3), dtype=np.uint16),
}


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'mini.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    for name, img in IMAGES.items():
        assert cv2.imwrite(str(folder / name), img)
    (folder / 'broken.png').write_bytes(b'\x89PNG not really an image')
    (folder / 'notes.txt').write_text('not an image suffix: ignored')
    return folder


def test_infer_tool_writes_three_pngs_per_image_and_reports_failures(checkpoint, image_folder, tmp_path):
    out = tmp_path / 'out'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'infer.py'), str(image_folder), CONFIG,
                           checkpoint, '--out-dir', str(out), '--batch-size', '3'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log  # one file failed
    assert 'broken.png' in log and '4 image(s) written' in log and '1 failed' in log
    for name, img in IMAGES.items():
        stem = osp.splitext(name)[0]
        mask = cv2.imread(str(out / f'{stem}_mask.png'), cv2.IMREAD_UNCHANGED)
        prob = cv2.imread(str(out / f'{stem}_prob.png'), cv2.IMREAD_UNCHANGED)
        over = cv2.imread(str(out / f'{stem}_overlay.png'), cv2.IMREAD_UNCHANGED)
        assert mask.shape == prob.shape == img.shape[:2], name
        assert over.shape == img.shape[:2] + (3, ), name
        assert set(np.unique(mask)) <= {0, 255}
        # the binary mask is the probability's 0.5 decision (the joint fg/bg rule)
        decided = prob.astype(int) > 128
        assert (decided == (mask > 0))[np.abs(prob.astype(int) - 128) > 1].all()
    assert not any(f.startswith('broken') for f in os.listdir(out))


def test_inferencer_api_returns_arrays_at_original_size(checkpoint):
    from focus_mm.apis import FocusInferencer

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
    from focus_mm.apis import FocusInferencer

    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.layer1.weight': torch.zeros(3)}}, other)
    with pytest.raises(RuntimeError, match=r'does not fit this model.*missing keys'):
        FocusInferencer(CONFIG, str(other))


def test_unwritable_output_folder_is_named(checkpoint, image_folder, tmp_path):
    blocker = tmp_path / 'file_not_folder'
    blocker.write_text('x')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'infer.py'), str(image_folder), CONFIG,
                           checkpoint, '--out-dir', str(blocker / 'sub')],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert 'cannot write to the output folder' in proc.stderr and 'file_not_folder' in proc.stderr
