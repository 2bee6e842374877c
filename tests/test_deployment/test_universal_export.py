"""A universal checkpoint deployed: one ONNX graph per task, the task in the file's metadata."""
import os.path as osp
import warnings
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _tiny_models import build_model, single_thread, tiny_focus_segmentor_cfg
from _tools import REPO, load_tool
from focus_mm.apis import FocusInferencer, set_inference_task
from focus_mm.apis.export import export_onnx, onnx_parity
from focus_mm.tasks import TASKS_METADATA_KEY
from focus_mm.apis.onnx_backend import create_session
from focus_mm.apis.task_selection import check_graph_task
from focus_mm.engine.hooks import TaskListHook
from focus_mm.utils import offline_model_cfg
from mmseg.registry import MODELS

UNIVERSAL_MINI = osp.join(REPO, 'configs', 'focus', 'focus-universal_mini_1xb8-1500_all-256x256.py')
TASKS = ('sod', 'cod', 'sd')
SHAPE = (64, 64)


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.fixture(scope='module')
def universal():
    torch.manual_seed(0)
    with single_thread():
        return build_model(tiny_focus_segmentor_cfg(prior=True, tasks=TASKS)).eval()


def _metadata(path):
    return {p.key: p.value for p in onnx.load(path).metadata_props}


def _run_graph(path, task_index, seed=0):
    session = create_session(path, threads=1)
    gen = torch.Generator().manual_seed(seed)
    feeds = {name: torch.randn(1, 3, *SHAPE, generator=gen).numpy() for name in ('image', 'edge')}
    feeds.update(img_shape=np.array([SHAPE], dtype=np.int64), task=np.array([task_index], dtype=np.int64))
    return session.run(['logits'], feeds)[0]


def test_a_universal_model_is_one_graph_with_a_task_input(universal, tmp_path):
    universal.decode_head.inference_task = None  # no task needed: the graph takes it as an input
    path = str(tmp_path / 'universal.onnx')
    assert export_onnx(universal, path, SHAPE) == ['image', 'edge', 'img_shape', 'task']
    assert _metadata(path) == {TASKS_METADATA_KEY: '["sod", "cod", "sd"]'}
    logits = {}
    for task in ('cod', 'sd'):
        parity = onnx_parity(universal, path, SHAPE, threads=1, task=task)
        assert parity['max_abs_diff'] <= 1e-4, parity
        logits[task] = _run_graph(path, TASKS.index(task))
    assert np.abs(logits['cod'] - logits['sd']).max() > 1e-3  # the task input selects the task


def test_graph_task_rule():
    assert check_graph_task('cod', None, 'm.onnx') == 'cod'
    assert check_graph_task('cod', 'cod', 'm.onnx') == 'cod'
    with pytest.raises(ValueError,
                       match=r"m.onnx is a universal model exported for the task 'cod' only.*pytorch2onnx"):
        check_graph_task('cod', 'sd', 'm.onnx')
    # a graph with a task input: any of its tasks, and one must be chosen
    assert check_graph_task(None, 'sd', 'm.onnx', graph_tasks=('sod', 'sd')) == 'sd'
    with pytest.raises(ValueError, match=r"m.onnx is a universal model: choose its task.*\['sod', 'sd'\]"):
        check_graph_task(None, None, 'm.onnx', graph_tasks=('sod', 'sd'))
    with pytest.raises(ValueError, match=r"unknown task 'cod' for m.onnx"):
        check_graph_task(None, 'cod', 'm.onnx', graph_tasks=('sod', 'sd'))
    with pytest.raises(ValueError, match="unknown task 'shadow'"):
        check_graph_task('cod', 'shadow', 'm.onnx')
    cfg = Config(dict(test_evaluator=dict(type='ForegroundMetric', task='sod')))
    with pytest.warns(UserWarning, match="single-task graph was trained for the task 'sod'; the requested "
                      "task 'cod' is ignored"):
        assert check_graph_task(None, 'cod', 'm.onnx', cfg) is None
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert check_graph_task(None, 'sod', 'm.onnx', cfg) is None


def test_exporter_and_inferencer_serve_every_task(tmp_path):
    tool = load_tool('deployment', 'pytorch2onnx')
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(offline_model_cfg(Config.fromfile(UNIVERSAL_MINI).model))
    checkpoint = dict(meta=dict(), state_dict=model.state_dict())
    TaskListHook().before_save_checkpoint(SimpleNamespace(model=model), checkpoint)
    ckpt = str(tmp_path / 'universal.pth')
    torch.save(checkpoint, ckpt)
    out = str(tmp_path / 'universal.onnx')
    common = [UNIVERSAL_MINI, ckpt, '--out', out, '--shape', '64', '64', '--threads', '1']
    assert tool.main(common + ['--task', 'cod']) == 0  # 0: the parity targets are met
    assert _metadata(out) == {TASKS_METADATA_KEY: '["sod", "cod", "sd", "dbd", "fd"]'}
    with pytest.raises(ValueError, match=r"choose its task.*\['sod', 'cod', 'sd', 'dbd', 'fd'\]"):
        FocusInferencer(UNIVERSAL_MINI, out, backend='onnxruntime')
    image = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
    for task in ('cod', 'sd'):
        inferencer = FocusInferencer(UNIVERSAL_MINI, out, backend='onnxruntime', task=task)
        assert inferencer.task == task
        prediction = inferencer(image)[0]
        assert prediction.prob.shape == (48, 80) and np.isfinite(prediction.prob).all()
    with pytest.raises(ValueError, match=r"unknown task 'shadow'"):
        FocusInferencer(UNIVERSAL_MINI, out, backend='onnxruntime', task='shadow')
