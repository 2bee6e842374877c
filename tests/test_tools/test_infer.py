"""tools/infer.py on a folder of mixed images, with a randomly initialised mini model."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS

from _tiny_models import odd_format_images, save_random_mini_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')

rng = np.random.default_rng(0)
IMAGES = odd_format_images(rng)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_mini_checkpoint(tmp_path_factory.mktemp('ckpt'))


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    for name, img in IMAGES.items():
        assert cv2.imwrite(str(folder / name), img)
    (folder / 'broken.png').write_bytes(b'\x89PNG not really an image')
    (folder / 'notes.txt').write_text('not an image suffix: ignored')
    Image.fromarray(IMAGES['photo.jpg'][..., ::-1]).convert('P').save(folder / 'anim.gif')
    assert cv2.imwrite(str(folder / 'UPPER.JPG'), IMAGES['photo.jpg'])
    Image.fromarray(rng.integers(0, 255, (200, 240, 3), dtype=np.uint8)).save(folder / 'cut.jpg', quality=90)
    data = (folder / 'cut.jpg').read_bytes()
    (folder / 'cut.jpg').write_bytes(data[:len(data) // 2])  # a truncated JPEG
    return folder


def _infer(*args, timeout=300):
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', 'infer.py'), *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_infer_tool_writes_three_pngs_per_image_and_reports_failures(checkpoint, image_folder, tmp_path):
    out = tmp_path / 'out'
    proc = _infer(image_folder, CONFIG, checkpoint, '--out-dir', out, '--batch-size', 3)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log  # two files failed
    assert 'broken.png' in log and '6 image(s) written' in log and '2 failed' in log
    assert 'cut.jpg' in log and 'truncated' in log  # reported and counted, not a success
    for stem, shape in (('anim', (90, 120)), ('UPPER', (90, 120))):  # GIF and upper-case suffix: read
        assert cv2.imread(str(out / f'{stem}_mask.png'), cv2.IMREAD_UNCHANGED).shape == shape
    assert not (out / 'cut_mask.png').exists()
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


def test_batch_size_below_one_is_refused(checkpoint, image_folder, tmp_path):
    for bad in ('0', '-1'):
        proc = _infer(image_folder, CONFIG, checkpoint, '--out-dir', tmp_path / 'o', '--batch-size', bad,
                      timeout=120)
        assert proc.returncode == 2 and 'must be at least 1' in proc.stderr, proc.stderr
    assert not (tmp_path / 'o').exists()
    from focus_mm.apis import FocusInferencer
    with pytest.raises(ValueError, match='batch_size'):
        FocusInferencer(CONFIG, checkpoint, batch_size=0)


@pytest.fixture(scope='module')
def nan_checkpoint(tmp_path_factory):
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(CONFIG).model)
    state = model.state_dict()
    key = next(k for k in state
               if k.startswith('decode_head') and k.endswith('weight') and state[k].is_floating_point())
    state[key] = torch.full_like(state[key], float('nan'))
    path = tmp_path_factory.mktemp('ckpt') / 'nan.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def test_non_finite_model_output_fails_naming_the_image(nan_checkpoint, tmp_path):
    from focus_mm.apis import FocusInferencer
    from focus_mm.apis import NonFiniteOutputError

    folder = tmp_path / 'imgs'
    folder.mkdir()
    for name in ('a.png', 'b.png', 'c.png'):
        assert cv2.imwrite(str(folder / name), IMAGES['photo.jpg'])
    with pytest.raises(NonFiniteOutputError, match='a.png'):
        FocusInferencer(CONFIG, nan_checkpoint)(str(folder / 'a.png'))
    out = tmp_path / 'out'
    proc = _infer(folder, CONFIG, nan_checkpoint, '--out-dir', out, '--batch-size', 2)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log
    assert '0 image(s) written' in log and '3 failed' in log and 'NaN or infinite' in log
    for name in ('a.png', 'b.png', 'c.png'):
        assert f'failed: {folder / name}' in log
    assert not list(out.glob('*_mask.png'))


def test_unwritable_output_folder_is_named(checkpoint, image_folder, tmp_path):
    blocker = tmp_path / 'file_not_folder'
    blocker.write_text('x')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'infer.py'), str(image_folder), CONFIG,
                           checkpoint, '--out-dir', str(blocker / 'sub')],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert 'cannot write to the output folder' in proc.stderr and 'file_not_folder' in proc.stderr
