"""tools/deployment/pytorch2onnx.py, then tools/infer.py with both backends on the same folder: same files."""
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
from _tiny_models import m0_short_side_config_text
from _tools import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MINI = osp.join(REPO, 'configs', 'focus', 'focus_mini_1xb8-300_sod-256x256.py')
# The mini model with M0 on, tested at short side 64 (CPU cost); the graph is exported at 64 x 64.
CONFIG_TEXT = m0_short_side_config_text(MINI)

rng = np.random.default_rng(0)
yy, xx = np.mgrid[:80, :80]
blob = (((yy - 40)**2 + (xx - 35)**2) < 400)[..., None]
# square and non-square images: the same test pipeline in both backends (the graph is dynamic)
SQUARE = {
    'photo.jpg': np.where(blob, 200, 40).astype(np.uint8) + rng.integers(0, 30, (80, 80, 3), dtype=np.uint8),
    'small.png': rng.integers(0, 255, (48, 48, 3), dtype=np.uint8),
    'alpha.png': rng.integers(0, 255, (64, 64, 4), dtype=np.uint8),
    'gray.png': rng.integers(0, 255, (96, 96), dtype=np.uint8),
    'wide.png': rng.integers(0, 255, (40, 70, 3), dtype=np.uint8),
    'tall.png': rng.integers(0, 255, (90, 50, 3), dtype=np.uint8),
}
WIDE = rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)


def _run(args, timeout=300):
    proc = subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp('deploy')
    config = folder / 'mini_m0_64.py'
    config.write_text(CONFIG_TEXT)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = folder / 'mini.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    onnx_path = folder / 'mini.onnx'
    log = _run([osp.join('tools', 'deployment', 'pytorch2onnx.py'), str(config), str(checkpoint), '--out',
                str(onnx_path), '--shape', '64', '64', '--threads', '1'])
    return dict(config=str(config), checkpoint=str(checkpoint), onnx=str(onnx_path), log=log)


def test_exporter_prints_checker_and_parity(exported):
    log = exported['log']
    assert 'onnx.checker: ok' in log and "inputs ['image', 'edge', 'img_shape']" in log, log
    assert 'parity at 64x64' in log and 'parity at 96x128' in log and 'FAILED' not in log, log
    assert osp.getsize(exported['onnx']) > 100_000


def test_infer_tool_onnxruntime_writes_the_same_files(exported, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    for name, img in SQUARE.items():
        assert cv2.imwrite(str(images / name), img)
    outs = {}
    for backend, weights in (('pytorch', exported['checkpoint']), ('onnxruntime', exported['onnx'])):
        outs[backend] = tmp_path / backend
        log = _run([osp.join('tools', 'infer.py'), str(images), exported['config'], weights, '--out-dir',
                    str(outs[backend]), '--backend', backend, '--batch-size', '2'])
        assert f'{len(SQUARE)} image(s) written' in log, log
    assert sorted(os.listdir(outs['pytorch'])) == sorted(os.listdir(outs['onnxruntime']))
    assert len(os.listdir(outs['pytorch'])) == 3 * len(SQUARE)
    for name, img in SQUARE.items():
        stem = osp.splitext(name)[0]
        read = {b: {kind: cv2.imread(str(outs[b] / f'{stem}_{kind}.png'), cv2.IMREAD_UNCHANGED)
                    for kind in ('mask', 'prob', 'overlay')} for b in outs}
        torch_mask, ort_mask = read['pytorch']['mask'], read['onnxruntime']['mask']
        assert torch_mask.shape == ort_mask.shape == img.shape[:2], name
        assert (torch_mask == ort_mask).mean() >= 0.999, name
        prob_diff = np.abs(read['pytorch']['prob'].astype(int) - read['onnxruntime']['prob'].astype(int))
        assert prob_diff.max() <= 1, (name, prob_diff.max())  # 1/255 rounding at most
        assert read['onnxruntime']['overlay'].shape == img.shape[:2] + (3, ), name


def test_inferencer_onnxruntime_api_follows_the_pipeline(exported):
    from focus_mm.apis import FocusInferencer

    inferencer = FocusInferencer(exported['config'], exported['onnx'], backend='onnxruntime')
    assert inferencer.model.fixed_shape is None  # dynamic: the config's keep-ratio resize and padding
    result = inferencer(WIDE)[0]
    assert result.mask.shape == result.prob.shape == WIDE.shape[:2]
    assert result.prob.dtype == np.float32 and 0 <= result.prob.min() and result.prob.max() <= 1
    torch_result = FocusInferencer(exported['config'], exported['checkpoint'])(WIDE)[0]
    assert np.abs(torch_result.prob - result.prob).max() <= 1e-3
    with pytest.raises(ValueError, match='onnxruntime'):
        FocusInferencer(exported['config'], None, backend='onnxruntime')
    with pytest.raises(ValueError, match='backend'):
        FocusInferencer(exported['config'], exported['onnx'], backend='tensorrt')


def test_evaluate_onnx_scores_graph_and_checkpoint_on_the_same_inputs(exported, tmp_path, capsys):
    module = load_tool('deployment', 'evaluate_onnx')
    options = [f'test_dataloader.dataset.data_root={tmp_path / "mini_bench"}',
               'test_dataloader.dataset.num_train=1', 'test_dataloader.dataset.num_test=2',
               'test_dataloader.dataset.size_range=(40,56)']
    assert module.main([exported['config'], exported['onnx'], '--checkpoint', exported['checkpoint'],
                        '--threads', '1', '--cfg-options'] + options) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith('[evaluate_onnx]')]
    assert '2 test images' in lines[0] and "config's test pipeline" in lines[0]
    torch_line, onnx_line = lines[1], lines[2]
    assert torch_line.startswith('[evaluate_onnx] pytorch: Sm ') and 'mini.onnx: Sm ' in onnx_line
    # same inputs, same weights: the same scores and (nearly) the same masks
    def sm(line):
        return float(line.split('Sm ', 1)[1].split(',')[0])

    assert abs(sm(torch_line) - sm(onnx_line)) <= 1e-3, (torch_line, onnx_line)
    agreement = float(onnx_line.split('with pytorch ', 1)[1].split('%')[0]) / 100
    assert 'worst image' in onnx_line
    assert agreement >= 0.999
