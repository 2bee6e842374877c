"""SaveForegroundPredictionsHook (tools/test.py --out) and the one probability -> PNG rounding rule."""
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from focus_mm.datasets.mask_io import probability_to_uint8
from focus_mm.engine.hooks import SaveForegroundPredictionsHook
from focus_mm.evaluation.metrics import METRIC_NAMES, ForegroundMetric


def _sample(prob, img_path, gt=None, dataset_name='setA'):
    sample = SegDataSample(metainfo=dict(img_path=img_path, dataset_name=dataset_name))
    prob = torch.as_tensor(prob, dtype=torch.float32)[None]
    sample.seg_logits = PixelData(data=prob)
    sample.pred_sem_seg = PixelData(data=(prob > 0.5).long())
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt, dtype=torch.long)[None])
    return sample


def _runner(img_root):
    dataset = SimpleNamespace(data_prefix=dict(img_path=img_root))
    return SimpleNamespace(test_dataloader=SimpleNamespace(dataset=SimpleNamespace(datasets=[dataset])))


def test_rounding_rule_is_round_half_up():
    ties = (np.arange(256) + 0.5) / 255
    p = np.concatenate([np.linspace(0, 1, 100001), ties, [-0.2, 1.3]]).astype(np.float32)
    expected = np.floor(np.clip(p, 0, 1).astype(np.float64) * 255 + 0.5)
    got = probability_to_uint8(p)
    # float32 arithmetic (as the metric did in torch): the exact rule, except within float eps of a tie
    far = np.abs(np.clip(p, 0, 1).astype(np.float64) * 255 % 1 - 0.5) > 1e-3
    assert far.sum() > 99000
    np.testing.assert_array_equal(got[far], expected[far])
    in_torch = torch.from_numpy(p).clamp(0, 1).mul(255).add_(0.5).to(torch.uint8).numpy()
    np.testing.assert_array_equal(got, in_torch)  # what ForegroundMetric computed before
    # torch input, large input (chunked) and 2-D shape give the same values
    big = np.random.default_rng(0).random((1500, 1100), dtype=np.float32)
    np.testing.assert_array_equal(probability_to_uint8(torch.from_numpy(big)), probability_to_uint8(big))
    assert probability_to_uint8(big).shape == big.shape
    with pytest.raises(ValueError, match='non-finite'):
        probability_to_uint8(np.array([0.2, np.nan], np.float32))


def test_saved_pngs_score_exactly_the_metric_numbers(tmp_path):
    rng = np.random.default_rng(1)
    hook = SaveForegroundPredictionsHook(str(tmp_path / 'out'))
    hook.before_test(_runner(str(tmp_path / 'Imgs')))
    in_memory = ForegroundMetric(metrics=METRIC_NAMES, group_by=None)
    samples = []
    for i in range(4):
        yy, xx = np.mgrid[:40, :52]
        gt = ((yy - 20)**2 + (xx - 20 - 3 * i)**2 < 150).astype(np.uint8)
        # probabilities that sit on and next to the .5/255 rounding boundaries
        prob = np.clip(gt * 0.7 + rng.normal(0.15, 0.2, gt.shape), 0, 1).astype(np.float32)
        prob[:3] = (np.arange(52) % 256 + 0.5)[None] / 255
        samples.append((_sample(prob, str(tmp_path / 'Imgs' / f'{i}.jpg'), gt), gt))
    in_memory.process(None, [s.to_dict() for s, _ in samples])
    hook.after_test_iter(None, 0, outputs=[s for s, _ in samples])
    from_files = ForegroundMetric(metrics=METRIC_NAMES, group_by=None)
    for i, (_, gt) in enumerate(samples):
        png = cv2.imread(str(tmp_path / 'out' / 'setA' / f'{i}_prob.png'), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint8 and png.shape == gt.shape
        from_files.add_pair(png, gt.astype(bool))
    a, b = in_memory.evaluate(4), from_files.evaluate(4)
    assert set(a) == set(b) and len(a) >= len(METRIC_NAMES)
    for key in a:
        assert a[key] == b[key], key  # exactly, not approximately


def test_same_name_in_sub_folders_keeps_the_relative_path(tmp_path):
    hook = SaveForegroundPredictionsHook(str(tmp_path / 'out'))
    root = str(tmp_path / 'Imgs')
    hook.before_test(_runner(root))
    ones, zeros = np.ones((8, 10), np.float32), np.zeros((8, 10), np.float32)
    hook.after_test_iter(None, 0, outputs=[_sample(ones, osp.join(root, 'a.jpg')),
                                          _sample(zeros, osp.join(root, 'sub', 'a.jpg'))])
    top = cv2.imread(str(tmp_path / 'out' / 'setA' / 'a_mask.png'), cv2.IMREAD_UNCHANGED)
    sub = cv2.imread(str(tmp_path / 'out' / 'setA' / 'sub' / 'a_mask.png'), cv2.IMREAD_UNCHANGED)
    assert top.min() == 255 and sub.max() == 0  # two files, neither overwritten
    # outside any known image folder two samples that would share a file stop the run
    hook.before_test(SimpleNamespace(test_dataloader=SimpleNamespace(dataset=SimpleNamespace(datasets=[]))))
    with pytest.raises(RuntimeError, match='would both be written'):
        hook.after_test_iter(None, 0, outputs=[_sample(ones, '/x/a.jpg'), _sample(zeros, '/y/a.jpg')])


def test_non_finite_map_is_not_saved(tmp_path):
    hook = SaveForegroundPredictionsHook(str(tmp_path / 'out'))
    hook.before_test(_runner(str(tmp_path)))
    prob = np.full((6, 7), 0.3, np.float32)
    prob[2, 3] = np.nan
    with pytest.raises(ValueError, match='nan_image.jpg'):
        hook.after_test_iter(None, 0, outputs=[_sample(prob, str(tmp_path / 'nan_image.jpg'))])
    assert not (tmp_path / 'out' / 'setA' / 'nan_image_prob.png').exists()
    assert not (tmp_path / 'out' / 'setA' / 'nan_image_mask.png').exists()
