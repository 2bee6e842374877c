"""ONNX export of the FOCUS inference path (M0 on) and the ONNX Runtime backend, against PyTorch."""
import os.path as osp

import numpy as np
import onnx
import pytest
import torch

from _tiny_models import build_model, single_thread, tiny_focus_segmentor_cfg
from focus_mm.apis.export import OnnxExportWrapper, export_onnx, onnx_parity
from focus_mm.apis.onnx_backend import OnnxRuntimeSegmentor, create_session, resize_to_graph, run_session

SHAPE = (64, 64)


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.fixture(scope='module')
def tiny_model():
    torch.manual_seed(0)
    with single_thread():
        return build_model(tiny_focus_segmentor_cfg(prior=True)).eval()


@pytest.fixture(scope='module')
def tiny_onnx(tiny_model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('onnx') / 'tiny.onnx')
    with single_thread():
        names = export_onnx(tiny_model, path, SHAPE, dynamic_batch=False, dynamic_hw=False)
    return path, names


def test_export_checks_and_matches_pytorch(tiny_model, tiny_onnx):
    path, names = tiny_onnx
    assert not any(m.training for m in tiny_model.modules())  # the export leaves the model in eval mode
    assert names == ['image', 'edge', 'img_shape']  # the edge-blended image; the images' sizes for M0
    graph = onnx.load(path).graph
    assert not onnx.load(path).metadata_props  # a single-task model's graph records no task
    onnx.checker.check_model(path, full_check=True)
    ops = {node.op_type for node in graph.node}
    assert 'GridSample' in ops  # deformable attention through its PyTorch path
    assert [o.name for o in graph.output] == ['logits']
    parity = onnx_parity(tiny_model, path, SHAPE, threads=1)
    assert parity['max_abs_diff'] <= 1e-4, parity
    assert parity['mask_agreement'] >= 0.999, parity
    assert parity['mask_agreement_eigh'] >= 0.99, parity  # PyTorch's default prior solver


def test_the_prior_is_in_the_graph(tiny_model, tiny_onnx):
    """The same weights with M0 off give other logits than the graph: the graph computes the prior."""
    path, names = tiny_onnx
    inputs = OnnxExportWrapper(tiny_model).example_inputs(SHAPE, generator=torch.Generator().manual_seed(0))
    graph_logits = run_session(create_session(path, threads=1),
                               {n: x.numpy() for n, x in zip(names, inputs)}, path)[0]
    head = tiny_model.decode_head
    index, head.prior_index = head.prior_index, None
    try:
        with torch.no_grad():
            without_prior = tiny_model.encode_decode(torch.cat(inputs[:2], dim=1), [dict(img_shape=SHAPE,
                                                                                       pad_shape=SHAPE)])
    finally:
        head.prior_index = index
    assert np.abs(without_prior.numpy() - graph_logits).max() > 1e-3


def test_runtime_segmentor_checks_its_input(tiny_onnx):
    from mmengine.config import Config

    cfg = Config(dict(model=tiny_focus_segmentor_cfg(prior=True)))
    runner = OnnxRuntimeSegmentor(cfg, tiny_onnx[0], threads=1)
    assert runner.fixed_shape == SHAPE and runner.with_edge
    with pytest.raises(ValueError, match='exported for 64x64'):
        runner.run(torch.zeros(1, 6, 64, 96))
    with pytest.raises(ValueError, match='6-channel'):
        runner.run(torch.zeros(1, 3, 64, 64))
    with pytest.raises(FileNotFoundError, match='pytorch2onnx'):
        OnnxRuntimeSegmentor(cfg, tiny_onnx[0] + '.missing')


def test_resize_to_graph_replaces_the_resize():
    steps = [dict(type='LoadImageFromNDArray'), dict(type='Resize', scale=(2048, 256), keep_ratio=True),
             dict(type='EdgePrior'), dict(type='PackSegInputs')]
    fixed = resize_to_graph(steps, (96, 128))
    assert fixed[1] == dict(type='Resize', scale=(128, 96), keep_ratio=False)
    assert [s['type'] for s in fixed] == [s['type'] for s in steps]
    no_resize = resize_to_graph([steps[0], steps[2], steps[3]], (64, 64))
    assert [s['type'] for s in no_resize] == ['LoadImageFromNDArray', 'Resize', 'EdgePrior', 'PackSegInputs']


def test_export_refuses_an_opset_without_grid_sample(tiny_model, tmp_path):
    with pytest.raises(ValueError, match='opset'):
        export_onnx(tiny_model, str(tmp_path / 'x.onnx'), SHAPE, opset_version=15)
    assert not osp.exists(tmp_path / 'x.onnx')
