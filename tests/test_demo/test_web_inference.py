"""demo/web_inference.py: a universal checkpoint's tasks, the default checkpoint, the upload limits."""
import importlib.util
import os.path as osp
import types

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _demo_models import REPO, scene

UNIVERSAL = osp.join(REPO, 'configs', 'focus', 'focus-universal_mini_1xb8-1500_all-256x256.py')

pytestmark = pytest.mark.usefixtures('one_thread')


def load_web_inference() -> types.ModuleType:
    path = osp.join(REPO, 'demo', 'web_inference.py')
    spec = importlib.util.spec_from_file_location('web_inference', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def universal_checkpoint(tmp_path_factory):
    from focus_mm.utils import offline_model_cfg
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(offline_model_cfg(Config.fromfile(UNIVERSAL).model))
    model.init_weights()
    path = str(tmp_path_factory.mktemp('universal') / 'universal.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_universal_checkpoint_serves_the_chosen_task(universal_checkpoint):
    from focus_mm.apis import FocusInferencer

    web = load_web_inference()
    model = web.DemoModel(UNIVERSAL, universal_checkpoint)
    assert model.tasks == ('sod', 'cod', 'sd', 'dbd', 'fd') and model.backends == ('pytorch', )
    with pytest.raises(web.ImageRejected, match="one of \\['sod', 'cod'"):
        model.check_choice(None, 'pytorch')
    with pytest.raises(web.ImageRejected, match='--onnx'):
        model.check_choice('cod', 'onnxruntime')
    image = scene(70, 90)
    result = model.segment(image, 'cod', 'pytorch')
    mask = cv2.imdecode(np.frombuffer(result['mask'], np.uint8), cv2.IMREAD_UNCHANGED)
    expected = FocusInferencer(UNIVERSAL, universal_checkpoint, task='cod')(image)[0].mask
    np.testing.assert_array_equal(mask, expected * 255)
    assert model.masks([image], 'cod', 'pytorch')[0].shape == (70, 90)


def test_default_checkpoint_is_the_run_demo_one(tmp_path):
    web = load_web_inference()
    assert web.find_demo_checkpoint(str(tmp_path)) is None
    assert 'bash tools/run_demo.sh --universal' in web.missing_checkpoint_message()
    work = tmp_path / 'work_dirs' / 'demo_sod'
    work.mkdir(parents=True)
    (work / 'iter_300.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'iter_300.pth'))
    config, checkpoint = web.find_demo_checkpoint(str(tmp_path))
    assert config.endswith('focus_mini_1xb8-300_sod-256x256.py') and checkpoint == str(work / 'iter_300.pth')


def test_upload_limits(tmp_path):
    web = load_web_inference()
    limits = web.Limits(max_upload_bytes=50_000, max_side=128)
    ok, data = cv2.imencode('.png', scene(60, 100))
    assert web.decode_upload(data.tobytes(), limits, 'a.png').shape == (60, 100, 3)
    ok, wide = cv2.imencode('.png', np.zeros((10, 200, 3), np.uint8))
    with pytest.raises(web.ImageRejected, match='200x10 px is over the limit of 128') as err:
        web.decode_upload(wide.tobytes(), limits, 'wide.png')
    assert err.value.status == 413
    with pytest.raises(web.ImageRejected, match='over the limit of'):
        web.decode_upload(b'0' * 50_001, limits, 'big.png')
    with pytest.raises(web.ImageRejected, match='not an image'):
        web.decode_upload(b'GIF89a broken', limits, 'bad.gif')
