"""The task at inference: the checkpoint's task list, FocusInferencer(task=), infer.py/test.py --task."""
import json
import os.path as osp
import subprocess
import sys
import warnings
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from focus_mm.apis import FocusInferencer, load_model_checkpoint
from focus_mm.engine.hooks import TaskListHook
from focus_mm.tasks import checkpoint_tasks
from focus_mm.utils import offline_model_cfg
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
UNIVERSAL = osp.join(REPO, 'configs', 'focus', 'focus-universal_mini_1xb8-1500_all-256x256.py')
SINGLE = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')
IMAGE = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)


def _save(cfg, path, hook=True):
    """Build the config's model (random weights) and save it as training would: through TaskListHook."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(offline_model_cfg(cfg.model))
    model.init_weights()
    checkpoint = dict(meta=dict(), state_dict=model.state_dict())
    if hook:
        TaskListHook().before_save_checkpoint(SimpleNamespace(model=model), checkpoint)
    torch.save(checkpoint, path)
    return model


def _with_tasks(tasks):
    cfg = Config.fromfile(UNIVERSAL)
    cfg.model.decode_head.tasks = tasks
    cfg.model.neck.tasks = tasks  # the neck's per-task affine indexes the head's list
    return cfg


@pytest.fixture(scope='module')
def universal_ckpt(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ckpt') / 'universal.pth')
    model = _save(Config.fromfile(UNIVERSAL), path)
    return path, model


def test_universal_checkpoint_round_trips_with_its_task_list(universal_ckpt):
    path, model = universal_ckpt
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    assert checkpoint_tasks(checkpoint) == ('sod', 'cod', 'sd', 'dbd', 'fd')
    init_default_scope('mmseg')
    fresh = MODELS.build(offline_model_cfg(Config.fromfile(UNIVERSAL).model))
    loaded = load_model_checkpoint(fresh, path)
    assert checkpoint_tasks(loaded) == fresh.decode_head.tasks
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    # the inferencer answers per task, and differently for two tasks
    cod = FocusInferencer(UNIVERSAL, path, task='cod')(IMAGE)[0]
    sd = FocusInferencer(UNIVERSAL, path, task='sd')(IMAGE)[0]
    assert cod.prob.shape == IMAGE.shape[:2]
    assert np.abs(cod.prob - sd.prob).max() > 1e-6


def test_universal_checkpoint_needs_a_known_task(universal_ckpt, tmp_path):
    path, _ = universal_ckpt
    known = r"\['sod', 'cod', 'sd', 'dbd', 'fd'\]"
    with pytest.raises(ValueError, match='universal checkpoint: choose its task.*' + known):
        FocusInferencer(UNIVERSAL, path)
    with pytest.raises(ValueError, match="unknown task 'shadow'"):
        FocusInferencer(UNIVERSAL, path, task='shadow')
    two = str(tmp_path / 'two.pth')
    _save(_with_tasks(('sod', 'cod')), two)
    with pytest.raises(ValueError, match=r"unknown task 'sd' for this universal.*\['sod', 'cod'\]"):
        FocusInferencer(_with_tasks(('sod', 'cod')), two, task='sd')
    # a config whose task list differs from the checkpoint's (same shapes, other tasks) is refused
    with pytest.raises(ValueError, match=r"trained for the tasks \['sod', 'cod'\].*\['sod', 'sd'\]"):
        FocusInferencer(_with_tasks(('sod', 'sd')), two, task='sod')


def test_single_task_checkpoint_ignores_the_task_with_a_warning(tmp_path):
    path = str(tmp_path / 'sod.pth')
    _save(Config.fromfile(SINGLE), path)
    assert checkpoint_tasks(torch.load(path, weights_only=False)) is None  # single-task: no task list
    plain = FocusInferencer(SINGLE, path)(IMAGE)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        same_task = FocusInferencer(SINGLE, path, task='sod')(IMAGE)[0]
    assert not [w for w in caught if 'ignored' in str(w.message)]  # its own task: no warning
    with pytest.warns(UserWarning, match="trained for the task 'sod'; the requested task 'cod' is ignored"):
        other = FocusInferencer(SINGLE, path, task='cod')(IMAGE)[0]
    assert np.array_equal(plain.prob, same_task.prob) and np.array_equal(plain.prob, other.prob)


def test_infer_tool_task_flag(universal_ckpt, tmp_path):
    path, _ = universal_ckpt
    image = tmp_path / 'photo.png'
    assert cv2.imwrite(str(image), IMAGE)
    tool = osp.join(REPO, 'tools', 'infer.py')
    proc = subprocess.run([sys.executable, tool, str(image), UNIVERSAL, path, '--out-dir',
                           str(tmp_path / 'a')], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "knows the tasks ['sod', 'cod', 'sd', 'dbd', 'fd']" in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, tool, str(image), UNIVERSAL, path, '--out-dir',
                           str(tmp_path / 'b'), '--task', 'cod'], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    mask = cv2.imread(str(tmp_path / 'b' / 'photo_mask.png'), cv2.IMREAD_UNCHANGED)
    assert mask.shape == IMAGE.shape[:2]


def test_test_tool_evaluates_every_set_with_its_task_and_takes_task(universal_ckpt, tmp_path):
    """tools/test.py on the universal mini config (2 test images per task): each test set gets its own
    task's metrics, with and without --task (which only changes what the model is asked)."""
    path, _ = universal_ckpt
    options = [f'test_dataloader.dataset.datasets.{i}.num_test=2' for i in range(5)]
    options += [f'test_dataloader.dataset.datasets.{i}.size_range=[64,72]' for i in range(5)]
    env = dict(**__import__('os').environ, FOCUS_DATA=str(tmp_path / 'data'))
    results = {}
    for task in (None, 'sd'):
        work = tmp_path / f'work_{task}'
        cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), UNIVERSAL, path, '--work-dir', str(work),
               '--cfg-options', *options] + (['--task', task] if task else [])
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        results[task] = json.load(open(work / 'foreground_metrics.json'))['results']
    expected = {'sod/Sm', 'sod/meanEm', 'sod/MAE', 'cod/Sm', 'cod/wFm', 'sd/BER', 'dbd/adpFm', 'fd/F1',
                'fd/AUC'}
    assert expected <= set(results[None]) and set(results[None]) == set(results['sd'])
    assert results[None]['sd/BER'] == pytest.approx(results['sd']['sd/BER'])  # sd images: sd either way
    assert results[None]['sod/MAE'] != results['sd']['sod/MAE']  # sod images decoded as shadows
