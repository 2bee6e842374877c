"""tools/test.py: metric table, --out predictions, strict checkpoint check (random mini model, mini data)."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import pytest
import torch

from _tiny_models import save_random_mini_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')
# Small test split: keeps the run short; the generator builds it into FOCUS_DATA.
SMALL = ['--cfg-options', 'test_dataloader.dataset.num_test=4', 'test_dataloader.dataset.num_train=4']


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_mini_checkpoint(tmp_path_factory.mktemp('ckpt'))


def _run(args, tmp_path):
    env = dict(os.environ, FOCUS_DATA=str(tmp_path / 'data'))
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', 'test.py'), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_test_tool_prints_metrics_and_writes_predictions(checkpoint, tmp_path):
    out = tmp_path / 'preds'
    proc = _run([CONFIG, checkpoint, '--work-dir', str(tmp_path / 'work'), '--out', str(out), *SMALL],
                tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Sm' in log and 'meanEm' in log and 'MAE' in log
    # one sub-folder per test set (its dataset_name)
    assert os.listdir(out) == ['mini_sod_test']
    out = out / 'mini_sod_test'
    masks = sorted(f for f in os.listdir(out) if f.endswith('_mask.png'))
    probs = sorted(f for f in os.listdir(out) if f.endswith('_prob.png'))
    assert len(masks) == len(probs) == 4
    image_dir = tmp_path / 'data' / 'mini_bench' / 'sod' / 'test' / 'images'
    for name in masks:
        stem = name[:-len('_mask.png')]
        original = cv2.imread(str(image_dir / f'{stem}.png'))
        assert cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED).shape == original.shape[:2]
    assert any(f.endswith('.json') for f in os.listdir(tmp_path / 'work'))


def test_test_tool_flip_tta(checkpoint, tmp_path):
    proc = _run([CONFIG, checkpoint, '--work-dir', str(tmp_path / 'work'), '--tta',
                 '--out', str(tmp_path / 'p'), *SMALL], tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Sm' in log
    probs = sorted((tmp_path / 'p' / 'mini_sod_test').glob('*_prob.png'))
    masks = sorted((tmp_path / 'p' / 'mini_sod_test').glob('*_mask.png'))
    assert len(probs) == 4
    for prob_path, mask_path in zip(probs, masks):
        prob = cv2.imread(str(prob_path), cv2.IMREAD_UNCHANGED).astype(int)
        mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        # the merged decision is the threshold of the merged (averaged) probability
        clear = abs(prob - 128) > 1
        assert ((prob > 128) == (mask > 0))[clear].all()


def test_test_tool_refuses_foreign_checkpoint_and_typos(tmp_path):
    foreign = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, foreign)
    proc = _run([CONFIG, str(foreign), '--work-dir', str(tmp_path / 'w'), *SMALL], tmp_path)
    assert proc.returncode != 0 and 'does not fit this model' in proc.stderr
    # a typo in a config path is refused before anything is built
    proc = _run([CONFIG, str(foreign), '--cfg-options', 'trian_cfg.max_iters=3'], tmp_path)
    assert proc.returncode != 0 and 'unknown key' in proc.stderr and 'trian_cfg' in proc.stderr
    # a typo in a component's argument is named by the component's constructor
    proc = _run([CONFIG, str(foreign), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                 'model.decode_head.num_pionts=3', *SMALL[1:]], tmp_path)
    assert proc.returncode != 0 and 'num_pionts' in proc.stderr
    proc = _run([CONFIG, str(tmp_path / 'missing.pth')], tmp_path)
    assert proc.returncode != 0 and 'checkpoint not found' in proc.stderr
