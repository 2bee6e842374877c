"""One ONNX graph for any batch, height, width and task: ONNX Runtime against PyTorch on non-square inputs.

The models here have non-zero task parameters (perturbed, checked to give other masks per task), so a
graph that ignored its ``task`` input, or kept the example's batch or size, fails.
"""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _tiny_models import build_model, m0_short_side_config_text, single_thread, tiny_focus_segmentor_cfg
from _tools import REPO, load_tool
from focus_mm.apis import FocusInferencer
from focus_mm.apis.export import export_onnx, onnx_parity
from focus_mm.apis.onnx_backend import OnnxRuntimeError, OnnxRuntimeSegmentor, create_session, run_session
from focus_mm.engine.hooks import TaskListHook
from focus_mm.tasks import TASKS, TASKS_METADATA_KEY
from focus_mm.utils import offline_model_cfg
from mmseg.registry import MODELS

UNIVERSAL_MINI = osp.join(REPO, 'configs', 'focus', 'focus-universal_mini_1xb8-1500_all-256x256.py')
EXPORT_SHAPE = (64, 96)  # the example input of the export: not square, and not the sizes checked below
# (shape, batch, img_shape): other sizes, a larger batch, padding at the bottom/right of a batch
CASES = [((96, 64), 1, None), ((128, 160), 2, (101, 150))]

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def perturb_task_parameters(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every task parameter (head embeddings, the neck's per-task batch-norm affine) random values:
    a trained universal model's are not zero, and zeros would hide a graph that ignores its task."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'task' in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.5)


@pytest.fixture(scope='module')
def universal(tmp_path_factory):
    """A tiny universal FOCUS (task-conditioned neck and head, M0 on), perturbed, and its dynamic graph."""
    torch.manual_seed(0)
    with single_thread():
        cfg = tiny_focus_segmentor_cfg(prior=True, tasks=TASKS)
        cfg['neck']['tasks'] = TASKS
        model = build_model(cfg).eval()
        perturb_task_parameters(model)
        with torch.no_grad():  # mask logits of a trained model's size (|logit| ~ 10), masks not constant
            model.decode_head.mask_embed.layers[-1].weight.mul_(20.0)
        path = str(tmp_path_factory.mktemp('dynamic') / 'universal.onnx')
        names = export_onnx(model, path, EXPORT_SHAPE)
    return SimpleNamespace(model=model, path=path, names=names)


def test_the_graph_takes_the_task_and_the_image_sizes_as_inputs(universal):
    assert universal.names == ['image', 'edge', 'img_shape', 'task']
    graph = onnx.load(universal.path)
    metadata = {p.key: p.value for p in graph.metadata_props}
    assert metadata == {TASKS_METADATA_KEY: '["sod", "cod", "sd", "dbd", "fd"]'}
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in graph.graph.input}
    assert dims['image'] == ['batch', 3, 'height', 'width']
    assert dims['img_shape'] == ['batch', 2] and dims['task'] == ['batch']


@pytest.mark.parametrize('task', TASKS)
def test_every_task_matches_pytorch_at_other_sizes_and_batches(universal, task):
    for shape, batch, img_shape in CASES:
        parity = onnx_parity(universal.model, universal.path, shape, batch, seed=1, threads=1, task=task,
                             img_shape=img_shape)
        assert parity['max_abs_diff'] <= 1e-4, (task, shape, batch, parity)
        assert parity['mask_agreement'] >= 0.999, (task, shape, batch, parity)


def _graph_logits(path, task_ids, shape=(96, 128), img_shape=(90, 117), seed=3):
    gen = torch.Generator().manual_seed(seed)
    batch = len(task_ids)
    feeds = {'image': torch.randn(batch, 3, *shape, generator=gen).numpy(),
             'edge': torch.randn(batch, 3, *shape, generator=gen).numpy(),
             'img_shape': np.array([img_shape] * batch, dtype=np.int64),
             'task': np.array(task_ids, dtype=np.int64)}
    return run_session(create_session(path, threads=1), feeds, path)[0]


def test_the_task_input_selects_the_task_per_image(universal):
    alone = np.concatenate([_graph_logits(universal.path, [t]) for t in range(len(TASKS))])
    # the same image decoded as each task: other masks (the task parameters are not zero)
    masks = alone > 0
    pairs = [(a, b) for a in range(len(TASKS)) for b in range(a + 1, len(TASKS))]
    assert all(np.abs(alone[a] - alone[b]).max() > 1e-2 for a, b in pairs)
    assert sum((masks[a] != masks[b]).mean() > 0.01 for a, b in pairs) >= 7
    # one batch mixing the five tasks gives each image its own task's answer
    mixed = _graph_logits(universal.path, list(range(len(TASKS))))
    single_image = np.concatenate([_graph_logits(universal.path, [t] * len(TASKS))[t:t + 1]
                                   for t in range(len(TASKS))])
    np.testing.assert_allclose(mixed, single_image, atol=1e-5)


def test_padding_is_excluded_from_the_prior_as_in_pytorch(universal):
    """The img_shape input reaches M0: the same input with another img_shape gives other logits."""
    full = _graph_logits(universal.path, [0], img_shape=(96, 128))
    padded = _graph_logits(universal.path, [0], img_shape=(40, 50))
    assert np.abs(full - padded).max() > 1e-3


def test_onnxruntime_failures_name_the_node_and_the_fix(universal, tmp_path):
    fixed = str(tmp_path / 'fixed.onnx')
    export_onnx(universal.model, fixed, EXPORT_SHAPE, dynamic_batch=False, dynamic_hw=False)
    session = create_session(fixed, threads=1)
    feeds = {'image': np.zeros((2, 3, 64, 96), np.float32), 'edge': np.zeros((2, 3, 64, 96), np.float32),
             'img_shape': np.array([[64, 96]] * 2, np.int64), 'task': np.zeros(2, np.int64)}
    with pytest.raises(OnnxRuntimeError, match=r'fixed.onnx: ONNX Runtime failed running .*for inputs '
                       r'image \(2, 3, 64, 96\).*What to do: .*pytorch2onnx.py') as info:
        run_session(session, feeds, fixed)
    assert 'Traceback' not in str(info.value) and 'onnxruntime_src' not in str(info.value)
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'not a graph')
    with pytest.raises(OnnxRuntimeError, match=r'broken.onnx: ONNX Runtime failed loading the graph: .*'
                       'What to do: check that the file was exported'):
        create_session(str(broken), threads=1)


def test_the_parity_check_catches_one_perturbed_weight(universal, tmp_path):
    """The tolerance follows the mask logits' scale; one weight changed by 1% fails the check."""
    tool = load_tool('deployment', 'pytorch2onnx')
    parity = onnx_parity(universal.model, universal.path, (96, 128), 2, threads=1, task='sd')
    assert parity['logit_scale'] > 5, parity  # the fixture's mask logits: a trained model's size
    assert tool.check_parity(parity), parity
    graph = onnx.load(universal.path)
    target = universal.model.decode_head.mask_embed.layers[-1].weight.detach().numpy()
    matches = [t for t in graph.graph.initializer
               if tuple(t.dims) in (target.shape, target.T.shape)
               and np.allclose(np.sort(onnx.numpy_helper.to_array(t).ravel()), np.sort(target.ravel()))]
    assert len(matches) == 1, [t.name for t in matches]
    weights = onnx.numpy_helper.to_array(matches[0]).copy()
    index = np.unravel_index(np.abs(weights).argmax(), weights.shape)
    weights[index] *= 1.01
    matches[0].CopyFrom(onnx.numpy_helper.from_array(weights, matches[0].name))
    perturbed = str(tmp_path / 'perturbed.onnx')
    onnx.save(graph, perturbed)
    parity = onnx_parity(universal.model, perturbed, (96, 128), 2, threads=1, task='sd')
    assert not tool.check_parity(parity), parity


# --------------------------------------------------------------------------- the tools, as a user runs them
# The universal mini config with M0 on, tested at short side 64 (CPU cost): images keep their aspect ratio
# and are padded to a multiple of 32, as in the PyTorch route.
CONFIG_TEXT = m0_short_side_config_text(UNIVERSAL_MINI)
# non-square images of several sizes; the two of the same size go through the graph as a batch of 2
_rng = np.random.default_rng(0)
_yy, _xx = np.mgrid[:90, :90]
IMAGES = [
    np.where(((_yy[:50] - 25)**2 + (_xx[:50] - 40)**2 < 300)[..., None], 200, 40).astype(np.uint8)
    + _rng.integers(0, 40, (50, 90, 3), dtype=np.uint8),
    _rng.integers(0, 255, (50, 90, 3), dtype=np.uint8),
    _rng.integers(0, 255, (70, 40, 3), dtype=np.uint8),
    _rng.integers(0, 255, (90, 66, 3), dtype=np.uint8),
]


def test_one_universal_graph_serves_every_task_like_pytorch(tmp_path):
    """pytorch2onnx.py --dynamic on a universal checkpoint, then FocusInferencer with both backends, every
    task, batch 2, non-square images: the same masks and probabilities."""
    folder = tmp_path
    config = folder / 'universal_m0_64.py'
    config.write_text(CONFIG_TEXT)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(offline_model_cfg(Config.fromfile(str(config)).model))
    perturb_task_parameters(model)
    checkpoint = dict(meta=dict(), state_dict=model.state_dict())
    TaskListHook().before_save_checkpoint(SimpleNamespace(model=model), checkpoint)
    ckpt = str(folder / 'universal.pth')
    torch.save(checkpoint, ckpt)
    out = str(folder / 'universal.onnx')
    tool = load_tool('deployment', 'pytorch2onnx')
    assert tool.main([str(config), ckpt, '--out', out, '--shape', '64', '96', '--threads', '1', '--dynamic',
                      '--task', 'sod']) == 0
    masks, probs = {}, {}
    for task in TASKS:
        results = {}
        for backend, weights in (('pytorch', ckpt), ('onnxruntime', out)):
            inferencer = FocusInferencer(str(config), weights, backend=backend, task=task, batch_size=2)
            results[backend] = inferencer(IMAGES)
        for image, torch_result, ort_result in zip(IMAGES, results['pytorch'], results['onnxruntime']):
            assert ort_result.mask.shape == image.shape[:2]
            assert (torch_result.mask == ort_result.mask).mean() >= 0.999, task
            assert np.abs(torch_result.prob - ort_result.prob).max() <= 1e-3, task
        masks[task] = np.concatenate([r.mask.ravel() for r in results['onnxruntime']])
        probs[task] = np.concatenate([r.prob.ravel() for r in results['onnxruntime']])
    # the task input is used: every task gives other probabilities, and several other masks
    pairs = [(a, b) for i, a in enumerate(TASKS) for b in TASKS[i + 1:]]
    assert all(np.abs(probs[a] - probs[b]).max() > 1e-3 for a, b in pairs)
    assert sum((masks[a] != masks[b]).any() for a, b in pairs) >= 3
    with pytest.raises(ValueError, match=r"universal model: choose its task .*\['sod', 'cod', 'sd', 'dbd'"):
        FocusInferencer(str(config), out, backend='onnxruntime')
    runner = OnnxRuntimeSegmentor(Config.fromfile(str(config)), out, threads=1, task='dbd')
    assert runner.fixed_shape is None and runner.task == 'dbd' and runner.tasks == TASKS
