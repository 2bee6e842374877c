"""ForegroundMetric: pysodmetrics run directly and its published values, extremes, empty masks, NaN,
outputs."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from focus_mm.datasets.mask_io import read_foreground_mask
from focus_mm.evaluation.metrics import METRIC_NAMES, TASK_METRICS, ForegroundMetric

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOLDEN_DIR = osp.join(osp.dirname(REPO_ROOT), 'shared', 'golden', 'pysodmetrics')

# Our names -> the keys of pysodmetrics' examples/version_performance.json.
GOLDEN_KEYS = dict(
    Sm='Smeasure', wFm='wFmeasure', MAE='MAE', adpEm='adpEm', meanEm='meanEm', maxEm='maxEm', adpFm='adpFm',
    meanFm='meanFm', maxFm='maxFm', IoU='overall_biiou', Dice='overall_bidice', F1='sample_bif1')


def _evaluate(pairs, **kwargs):
    metric = ForegroundMetric(**kwargs)
    for pred, gt in pairs:
        metric.add_pair(pred, gt)
    return metric.evaluate(len(pairs))


def _disc(h=40, w=48, r=12):
    yy, xx = np.mgrid[:h, :w]
    return (yy - h // 2) ** 2 + (xx - w // 2) ** 2 <= r * r


@pytest.mark.skipif(not osp.isdir(GOLDEN_DIR), reason='../shared/golden/pysodmetrics is absent')
def test_golden_pysodmetrics_v1_4_0():
    import cv2
    golden = json.load(open(osp.join(GOLDEN_DIR, 'version_performance.json')))['v1_4_0']
    pairs = []
    for name in sorted(os.listdir(osp.join(GOLDEN_DIR, 'masks'))):
        pred = cv2.imread(osp.join(GOLDEN_DIR, 'preds', name), cv2.IMREAD_GRAYSCALE)
        gt = read_foreground_mask(osp.join(GOLDEN_DIR, 'masks', name))
        pairs.append((pred, gt))
    assert len(pairs) == 3
    results = _evaluate(pairs, minmax_normalize=True)
    for ours, theirs in GOLDEN_KEYS.items():
        assert results[ours] == pytest.approx(golden[theirs], abs=1e-9), ours
    assert results['BER'] == pytest.approx(golden['overall_biber'] * 100, abs=1e-9)
    assert set(results) == set(METRIC_NAMES)


def _generated_pairs():
    """Deterministic 8-bit maps: blurred noisy ellipses (one image with an empty mask)."""
    import cv2
    rng = np.random.default_rng(11)
    pairs = []
    for i in range(5):
        h, w = 48 + 4 * i, 64 - 4 * i
        gt = np.zeros((h, w), np.uint8)
        if i != 3:
            cv2.ellipse(gt, (w // 2 + i, h // 2 - i), (6 + 2 * i, 9 + i), 30.0 * i, 0, 360, 1, -1)
        noisy = gt * rng.uniform(0.5, 0.9) + rng.normal(0.2, 0.15, gt.shape)
        pred = cv2.GaussianBlur(np.clip(noisy, 0, 1).astype(np.float32), (0, 0), 1.5)
        pairs.append((np.floor(pred * 255 + 0.5).astype(np.uint8), gt.astype(bool)))
    return pairs


def test_equals_pysodmetrics_run_directly_on_generated_maps():
    """Self-contained reference (no files needed): pysodmetrics used as its README shows, on 8-bit maps."""
    import py_sod_metrics as psm
    pairs = _generated_pairs()
    overall = dict(with_dynamic=False, with_adaptive=False, with_binary=True, sample_based=False)
    sm, wfm, mae, em = psm.Smeasure(), psm.WeightedFmeasure(), psm.MAE(), psm.Emeasure()
    fmv2 = psm.FmeasureV2(metric_handlers=dict(
        fm=psm.FmeasureHandler(with_dynamic=True, with_adaptive=True, beta=0.3),
        iou=psm.IOUHandler(**overall), dice=psm.DICEHandler(**overall), ber=psm.BERHandler(**overall),
        f1=psm.FmeasureHandler(with_dynamic=False, with_adaptive=False, with_binary=True, sample_based=True,
                               beta=1.0)))
    for pred, gt in pairs:
        for metric in (sm, wfm, mae, em, fmv2):
            metric.step(pred, gt.astype(np.uint8) * 255)  # normalize=True: /255 and min-max, gt > 128
    em_res, fm_res = em.get_results()['em'], fmv2.get_results()
    reference = dict(
        Sm=sm.get_results()['sm'], wFm=wfm.get_results()['wfm'], MAE=mae.get_results()['mae'],
        adpEm=em_res['adp'], meanEm=em_res['curve'].mean(), maxEm=em_res['curve'].max(),
        adpFm=fm_res['fm']['adaptive'], meanFm=fm_res['fm']['dynamic'].mean(),
        maxFm=fm_res['fm']['dynamic'].max(),
        IoU=fm_res['iou']['binary'], Dice=fm_res['dice']['binary'], BER=100 * fm_res['ber']['binary'],
        F1=fm_res['f1']['binary'])
    metrics = tuple(reference)
    from_arrays = _evaluate(pairs, metrics=metrics, minmax_normalize=True)
    # the runner's path: probabilities in seg_logits, quantised by the metric itself
    metric = ForegroundMetric(metrics=metrics, minmax_normalize=True)
    for pred, gt in pairs:
        metric.process(None, [_sample(pred / 255.0, gt, 'generated')])
    from_samples = metric.evaluate(len(pairs))
    assert 0.3 < reference['Sm'] < 0.95 and 0 < reference['BER'] < 50  # neither trivial nor degenerate
    for name, value in reference.items():
        assert from_arrays[name] == pytest.approx(float(value), abs=1e-12), name
        assert from_samples[name] == pytest.approx(float(value), abs=1e-12), name


def test_perfect_prediction():
    gt = _disc()
    pred = gt.astype(np.uint8) * 255
    res = _evaluate([(pred, gt), (pred[::-1].copy(), gt[::-1].copy())])
    assert res['Sm'] == pytest.approx(1.0, abs=1e-9)
    assert res['MAE'] == 0.0
    assert res['BER'] == 0.0
    for name in ('wFm', 'maxFm', 'adpFm', 'IoU', 'Dice', 'F1', 'AUC'):
        assert res[name] == pytest.approx(1.0, abs=1e-9), name
    # pysodmetrics' E-measure divides by (N - 1) pixels: a perfect map scores N / (N - 1)
    n = gt.size
    assert res['maxEm'] == pytest.approx(n / (n - 1), abs=1e-9)
    assert res['adpEm'] == pytest.approx(n / (n - 1), abs=1e-9)


def test_inverted_prediction_gives_the_extremes():
    gt = _disc()
    pred = (~gt).astype(np.uint8) * 255
    res = _evaluate([(pred, gt)])
    assert res['Sm'] == 0.0
    assert res['MAE'] == 1.0
    assert res['BER'] == 100.0
    for name in ('wFm', 'IoU', 'Dice', 'F1', 'AUC', 'adpFm', 'adpEm'):
        assert res[name] == pytest.approx(0.0, abs=1e-9), name


def test_empty_ground_truth_and_empty_prediction():
    empty = np.zeros((30, 30), bool)
    zero_pred = np.zeros((30, 30), np.uint8)
    # empty gt, empty prediction: a correct answer
    res = _evaluate([(zero_pred, empty)], metrics=METRIC_NAMES)
    assert res['Sm'] == 1.0 and res['MAE'] == 0.0
    assert res['maxEm'] == pytest.approx(900 / 899, abs=1e-12)  # pysodmetrics divides by (N - 1)
    assert np.isnan(res['AUC'])  # ROC undefined without foreground: no image counts
    # empty prediction on a non-empty gt, and a full prediction on an empty gt: finite, worst-case values
    gt = _disc(30, 30, 8)
    res = _evaluate([(zero_pred, gt), (np.full((30, 30), 255, np.uint8), empty)])
    assert all(np.isfinite(v) for k, v in res.items() if k != 'AUC')
    assert res['MAE'] == pytest.approx((gt.mean() + 1.0) / 2)
    assert res['IoU'] == 0.0 and res['F1'] == 0.0
    # AUC averages only the images that have both classes: the constant prediction gives 0.5
    assert res['AUC'] == pytest.approx(0.5)


def test_auc_matches_rank_statistic_and_paper_convention():
    rng = np.random.default_rng(0)
    gt = _disc(24, 24, 7)
    pred = np.clip(rng.normal(100, 40, gt.shape) + 60 * gt, 0, 255).astype(np.uint8)
    res = _evaluate([(pred, gt)], metrics=('AUC', 'BER'), minmax_normalize=False)
    pos, neg = pred[gt].astype(int), pred[~gt].astype(int)
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert res['AUC'] == pytest.approx(wins / (pos.size * neg.size), abs=1e-12)
    binary = pred / 255.0 > 0.5
    tpr, tnr = binary[gt].mean(), (~binary[~gt]).mean()
    assert res['BER'] == pytest.approx(100 * (1 - 0.5 * (tpr + tnr)), abs=1e-9)
    paper = _evaluate([(pred, gt)], metrics=('AUC', 'BER'), minmax_normalize=False, paper_convention=True)
    assert paper['BER'] == pytest.approx(0.75 * res['BER'], abs=1e-9)
    assert paper['AUC'] == pytest.approx(1 - res['BER'] / 100, abs=1e-9)


def test_per_image_records_hold_no_pixel_data():
    metric = ForegroundMetric(metrics=METRIC_NAMES, output_dir=None)
    rng = np.random.default_rng(1)
    for size in (40, 400):  # a record does not grow with the image
        gt = _disc(size, size, size // 4)
        metric.add_pair(rng.integers(0, 256, gt.shape, dtype=np.uint8), gt, 'a')
    small, large = (rec for _, rec in metric.results)
    assert small.keys() == large.keys()
    for key, value in large.items():
        assert np.ndim(value) == 0 or np.shape(value) == (256, ), key
    assert metric.evaluate(2)['Sm'] > 0
    assert metric.results == []  # BaseMetric.evaluate clears them


def test_non_finite_probability_is_never_scored():
    gt = _disc()
    metric = ForegroundMetric(task='sod')
    for bad in (float('nan'), float('inf'), -float('inf')):
        prob = gt * 0.8
        prob[3, 4] = bad
        with pytest.raises(ValueError, match=r"prediction of 'A\.jpg' has non-finite values"):
            metric.process(None, [_sample(prob, gt, 'A')])
    with pytest.raises(ValueError, match='non-finite'):  # all NaN (scored Sm 0.375 before)
        metric.process(None, [_sample(np.full(gt.shape, np.nan), gt, 'A')])
    logits = np.stack([np.zeros(gt.shape), np.where(gt, 3.0, -3.0)])
    logits[1, 0, 0] = np.nan
    sample = _sample(gt, gt, 'A')
    sample['seg_logits'] = PixelData(data=torch.as_tensor(logits, dtype=torch.float32))
    with pytest.raises(ValueError, match='non-finite'):  # 2-channel logits too
        metric.process(None, [sample])
    assert metric.results == []  # nothing was recorded


def _sample(prob, gt, name):
    sample = SegDataSample(metainfo=dict(img_path=f'{name}.jpg', dataset_name=name))
    sample.seg_logits = PixelData(data=torch.as_tensor(prob, dtype=torch.float32)[None])
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt, dtype=torch.int64)[None])
    return sample.to_dict()


def test_process_groups_by_dataset_and_writes_outputs(tmp_path):
    gt = _disc()
    metric = ForegroundMetric(task='cod', output_dir=str(tmp_path), plot_curves=True)
    metric.process(None, [_sample(gt * 0.9, gt, 'A'), _sample(1.0 - gt, gt, 'B')])
    res = metric.evaluate(2)
    assert set(res) == {f'{g}/{m}' for g in 'AB' for m in TASK_METRICS['cod']}
    assert res['A/MAE'] == 0.0  # 0.9 * 255 is min-max stretched to 255
    assert res['B/MAE'] == 1.0
    saved = json.load(open(tmp_path / 'foreground_metrics.json'))
    assert saved['results']['A']['MAE'] == 0.0 and saved['num_images'] == dict(A=1, B=1)
    assert len(saved['curves']['A']['Pre_curve']) == 256
    for group in 'AB':
        assert (tmp_path / f'{group}_pr_curve.png').stat().st_size > 1000
        assert (tmp_path / f'{group}_fm_em_curves.png').stat().st_size > 1000


def test_bad_inputs_have_clear_errors():
    gt = _disc()
    metric = ForegroundMetric(task='sod')
    with pytest.raises(ValueError, match='differ in size'):
        metric.process(None, [_sample(np.zeros((10, 10)), gt, 'A')])
    with pytest.raises(ValueError, match='outside'):
        metric.process(None, [_sample(gt * 5.0, gt, 'A')])
    with pytest.raises(KeyError, match='unknown task'):
        ForegroundMetric(task='xyz')
    with pytest.raises(KeyError, match='Unknown foreground metric'):
        ForegroundMetric(metrics=('Sm', 'mIoU'))


def test_worker_processes_give_identical_results():
    rng = np.random.default_rng(2)
    pairs = []
    for i in range(7):
        gt = _disc(32, 36, 6 + i)
        pairs.append((np.clip(rng.normal(80, 50, gt.shape) + 120 * gt, 0, 255).astype(np.uint8), gt))
    serial = _evaluate(pairs, metrics=METRIC_NAMES)
    parallel = _evaluate(pairs, metrics=METRIC_NAMES, num_workers=2)
    assert parallel == serial
