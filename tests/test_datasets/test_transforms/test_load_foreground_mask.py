"""LoadForegroundMask and the base configs' pipelines (without EdgePrior)."""
import os

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from focus_mm.datasets.transforms import LoadForegroundMask  # noqa: F401  (registers the transform)

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'datasets',
                      'foreground_pipelines.py')


def _pair(tmp_path, img_hw=(40, 60), mask_hw=(40, 60)):
    img = np.random.default_rng(0).integers(0, 255, (*img_hw, 3), dtype=np.uint8)
    mask = np.zeros(mask_hw, np.uint8)
    mask[10:30, 20:50] = 255
    Image.fromarray(img).save(tmp_path / 'a.jpg')
    Image.fromarray(mask).save(tmp_path / 'a.png')
    return dict(img_path=str(tmp_path / 'a.jpg'), seg_map_path=str(tmp_path / 'a.png'), seg_fields=[],
                reduce_zero_label=False, dataset_name='toy')


def test_loads_zero_one_mask(tmp_path):
    init_default_scope('mmseg')
    results = Compose([dict(type='LoadImageFromFile'), dict(type='LoadForegroundMask')])(_pair(tmp_path))
    gt = results['gt_seg_map']
    assert gt.dtype == np.uint8 and gt.shape == (40, 60) and set(np.unique(gt)) == {0, 1}
    assert gt.sum() == 20 * 30 and 'gt_seg_map' in results['seg_fields']


def test_size_mismatch_names_both_files_and_sizes(tmp_path):
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match=r'60x40.*a\.png.*61x40.*a\.jpg'):
        Compose([dict(type='LoadImageFromFile'), dict(type='LoadForegroundMask')])(
            _pair(tmp_path, img_hw=(40, 61)))


def test_base_config_pipelines_run(tmp_path):
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    strip = [t for t in cfg.train_pipeline if t['type'] != 'EdgePrior']
    out = Compose(strip)(_pair(tmp_path, (200, 300), (200, 300)))
    sample = out['data_samples']
    h, w = out['inputs'].shape[1:]
    assert max(h, w) <= 512 and min(h, w) <= 512
    assert sample.gt_sem_seg.data.shape[1:] == (h, w)
    assert set(sample.gt_sem_seg.data.unique().tolist()) <= {0, 1}
    assert sample.metainfo['dataset_name'] == 'toy'
    test_strip = [t for t in cfg.test_pipeline if t['type'] != 'EdgePrior']
    out = Compose(test_strip)(_pair(tmp_path, (200, 300), (200, 300)))
    assert tuple(out['inputs'].shape[1:]) == (512, 768)  # short side 512
    assert tuple(out['data_samples'].gt_sem_seg.data.shape[1:]) == (200, 300)  # mask stays at original size


def test_unreadable_image_fails_with_its_path(tmp_path):
    init_default_scope('mmseg')
    results = _pair(tmp_path)
    (tmp_path / 'a.jpg').write_bytes(b'garbage')
    with pytest.raises(Exception, match='a.jpg'):
        Compose([dict(type='LoadImageFromFile'), dict(type='LoadForegroundMask')])(results)
