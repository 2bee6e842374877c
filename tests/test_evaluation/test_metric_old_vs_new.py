"""Temporary: the ForegroundMetric before issue 14 (private pysodmetrics lists, own padding bookkeeping)
and after (public get_results(), BaseMetric.collect_results) give identical numbers on fixed inputs."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from focus_mm.evaluation.metrics import METRIC_NAMES, ForegroundMetric

from _legacy.foreground_metric import ForegroundMetric as OldMetric  # noqa: E402


def _inputs():
    rng = np.random.default_rng(7)
    out = []
    for i in range(6):
        h, w = 36 + 4 * i, 44 - 2 * i
        yy, xx = np.mgrid[:h, :w]
        gt = (yy - h / 2) ** 2 / 1.5 + (xx - w / 3) ** 2 <= (4 + 2 * i) ** 2
        if i == 4:
            gt[:] = False  # an empty mask
        prob = np.clip(gt * rng.uniform(0.4, 0.9) + rng.normal(0.2, 0.2, gt.shape), 0, 1)
        if i == 5:
            prob[:] = 0.0  # a constant map
        out.append((prob.astype(np.float32), gt, 'A' if i % 3 else 'B'))
    return out


def _run(cls, kwargs, via_process):
    metric = cls(**kwargs)
    for i, (prob, gt, group) in enumerate(_inputs()):
        if via_process:
            sample = SegDataSample(metainfo=dict(img_path=f'{i}.png', dataset_name=group))
            sample.seg_logits = PixelData(data=torch.from_numpy(prob)[None])
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt.astype(np.int64))[None])
            metric.process(None, [sample.to_dict()])
        else:
            metric.add_pair(np.floor(prob * 255 + 0.5).astype(np.uint8), gt, group)
    return metric.evaluate(len(_inputs()))


@pytest.mark.parametrize('kwargs,via_process', [
    (dict(metrics=METRIC_NAMES), True),
    (dict(metrics=METRIC_NAMES, minmax_normalize=False, paper_convention=True, fm_beta2=1.0), True),
    (dict(metrics=METRIC_NAMES, group_by=None), False),
    (dict(task='cod'), True),
    (dict(task='sd'), True),
    (dict(task='fd', num_workers=2), True),
])
def test_old_and_new_give_identical_numbers(kwargs, via_process):
    old, new = _run(OldMetric, kwargs, via_process), _run(ForegroundMetric, kwargs, via_process)
    assert old.keys() == new.keys()
    for key in old:
        assert new[key] == old[key] or (np.isnan(new[key]) and np.isnan(old[key])), key
