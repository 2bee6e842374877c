"""Per-image foreground metrics from pysodmetrics, folded into running sums (memory flat in N).

The math is pysodmetrics' (``py_sod_metrics`` 1.6.2, the library the SOD/COD field reports with):
its ``Smeasure``, ``WeightedFmeasure``, ``MAE``, ``Emeasure`` classes and ``FmeasureV2``'s
binarisation plus its metric handlers. Only the bookkeeping is ours: pysodmetrics keeps a Python
list with one entry (a scalar or a 256-value curve) per image and averages at the end; we add each
image's entry into a running sum instead, which gives the same means (the same additions in the same
order) with no per-image storage, and lets ranks/workers merge their sums.

Definitions (``pred`` = prediction normalised to [0, 1], ``gt`` = boolean mask):

- ``Sm``, ``wFm``, ``MAE``, ``adpEm``/``meanEm``/``maxEm``, ``adpFm``/``meanFm``/``maxFm``
  (beta^2 = 0.3): pysodmetrics' per-image values averaged over images; mean/max of a curve are taken
  over the 256 thresholds of the image-averaged curve (pysodmetrics' ``curve.mean()``/``.max()``).
- ``BER`` (%), ``IoU``, ``Dice``: from TP/TN/FP/FN summed over the whole dataset with the binary map
  ``pred > 0.5`` (pysodmetrics' "overall binary" mode, the shadow-detection convention).
- ``F1``: per-image F1 (beta = 1) of ``pred > 0.5``, averaged over images (pysodmetrics' "sample
  binary" mode, the forgery convention).
- ``AUC``: per-image area under the ROC curve of the continuous map over its 256 levels (exact for
  the 8-bit map: trapezoids between every level, ties counted half), averaged over the images that
  have both foreground and background (the ROC is undefined otherwise; ``AUC_images`` says how many).
- Paper conventions (``paper_convention=True``, for comparing with FOCUS' tables): ``BER`` becomes
  0.75 x the per-image BER averaged over images, and ``AUC`` the per-image ``1 - BER`` of the binary
  map, which is what the authors' evaluator computes.
"""
from typing import Dict, Optional, Sequence

import numpy as np
from py_sod_metrics import (MAE, BERHandler, DICEHandler, Emeasure, FmeasureHandler, FmeasureV2, FPRHandler,
                            IOUHandler, PrecisionHandler, RecallHandler, Smeasure, WeightedFmeasure)
from py_sod_metrics.utils import prepare_data

#: every metric name ForegroundMetric can report.
METRIC_NAMES = ('Sm', 'wFm', 'MAE', 'adpEm', 'meanEm', 'maxEm', 'adpFm', 'meanFm', 'maxFm', 'BER', 'IoU',
                'Dice', 'F1', 'AUC')

#: what each metric needs computed per image.
_NEEDS = {
    'Sm': 'sm', 'wFm': 'wfm', 'MAE': 'mae', 'adpEm': 'em', 'meanEm': 'em', 'maxEm': 'em', 'adpFm': 'fm',
    'meanFm': 'fm', 'maxFm': 'fm', 'BER': 'binary', 'IoU': 'binary', 'Dice': 'binary', 'F1': 'binary',
    'AUC': 'roc'
}

_trapezoid = getattr(np, 'trapezoid', None) or np.trapz


def normalize_prediction(pred_u8: np.ndarray, gt: np.ndarray, minmax: bool = True):
    """Bring an 8-bit prediction and a boolean mask to pysodmetrics' normalised form.

    Args:
        pred_u8 (np.ndarray): H x W uint8 prediction (0..255), as a saved PNG map would be.
        gt (np.ndarray): H x W bool ground truth.
        minmax (bool): apply pysodmetrics' ``prepare_data`` (``/255`` then min-max stretching, the
            MATLAB ``mapminmax(im2double(.))`` every SOD/COD evaluator uses). False: ``/255`` only,
            so that ``pred > 0.5`` is the model's own decision (used for BER and forgery F1).

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 prediction in [0, 1] and bool ground truth.
    """
    if pred_u8.shape != gt.shape:
        raise ValueError(f'prediction shape {pred_u8.shape} != ground-truth shape {gt.shape}')
    gt = gt.astype(bool, copy=False)
    if minmax:
        # pysodmetrics' own normalisation; its `gt > 128` output is not needed (gt is boolean already)
        pred, _ = prepare_data(pred_u8, gt)
        return pred, gt
    return pred_u8 / 255.0, gt


class ForegroundImageEvaluator:
    """Compute one image's pysodmetrics entries (only those the requested metrics need).

    Args:
        metrics (Sequence[str]): names from :data:`METRIC_NAMES`.
        fm_beta2 (float): beta^2 of the F-measure. Defaults to 0.3 (the SOD convention).
        curves (bool): also compute the PR / F-measure / E-measure curves. Defaults to False.
        paper_convention (bool): also compute the per-image binary BER the paper convention needs.
    """

    def __init__(self, metrics: Sequence[str], fm_beta2: float = 0.3, curves: bool = False,
                 paper_convention: bool = False) -> None:
        unknown = [m for m in metrics if m not in METRIC_NAMES]
        if unknown:
            raise KeyError(f'Unknown foreground metric(s) {unknown}; choose from {list(METRIC_NAMES)}.')
        self.needs = {_NEEDS[m] for m in metrics}
        if curves:
            self.needs |= {'em', 'fm', 'pr'}
        if paper_convention and self.needs & {'binary', 'roc'}:
            self.needs |= {'binary'}
        self._sm = Smeasure()
        self._wfm = WeightedFmeasure()
        self._mae = MAE()
        self._em = Emeasure()
        self._fmv2 = FmeasureV2()  # only its (public) binarisation methods are used
        self._fm = FmeasureHandler(with_dynamic=False, with_adaptive=False, beta=fm_beta2)
        self._f1 = FmeasureHandler(with_dynamic=False, with_adaptive=False, beta=1.0)
        self._pre = PrecisionHandler(with_dynamic=False, with_adaptive=False)
        self._rec = RecallHandler(with_dynamic=False, with_adaptive=False)
        self._fpr = FPRHandler(with_dynamic=False, with_adaptive=False)
        self._ber = BERHandler(with_dynamic=False, with_adaptive=False)

    @staticmethod
    def _pop(values: list):
        # pysodmetrics' classes append one entry per ``step``; we take it out at once (no growth).
        return values.pop()

    def __call__(self, pred: np.ndarray, gt: np.ndarray) -> dict:
        """Per-image entries of a normalised pair (see :func:`normalize_prediction`).

        Args:
            pred (np.ndarray): H x W float64 in [0, 1].
            gt (np.ndarray): H x W bool.

        Returns:
            dict: scalars and 256-value curves; keys depend on the requested metrics.
        """
        rec = {}
        needs = self.needs
        if 'sm' in needs:
            self._sm.step(pred, gt, normalize=False)
            rec['Sm'] = float(self._pop(self._sm.sms))
        if 'wfm' in needs:
            self._wfm.step(pred, gt, normalize=False)
            rec['wFm'] = float(self._pop(self._wfm.weighted_fms))
        if 'mae' in needs:
            self._mae.step(pred, gt, normalize=False)
            rec['MAE'] = float(self._pop(self._mae.maes))
        if 'em' in needs:
            self._em.step(pred, gt, normalize=False)
            rec['adpEm'] = float(self._pop(self._em.adaptive_ems))
            rec['Em_curve'] = np.asarray(self._pop(self._em.changeable_ems), dtype=np.float64)
        fg = int(np.count_nonzero(gt))
        bg = gt.size - fg
        if needs & {'fm', 'pr', 'roc'}:
            dyn = self._fmv2.dynamically_binarizing(pred=pred, gt=gt, FG=fg, BG=bg)
            if 'fm' in needs:
                adp = self._fmv2.adaptively_binarizing(pred=pred, gt=gt, FG=fg, BG=bg)
                rec['adpFm'] = float(self._fm(**adp))
                rec['Fm_curve'] = np.asarray(self._fm(**dyn), dtype=np.float64)
            if 'pr' in needs:
                rec['Pre_curve'] = np.asarray(self._pre(**dyn), dtype=np.float64)
                rec['Rec_curve'] = np.asarray(self._rec(**dyn), dtype=np.float64)
            if 'roc' in needs and fg > 0 and bg > 0:
                # thresholds run from >= 255 down to >= 0: TPR/FPR increase; start the ROC at (0, 0).
                tpr = np.concatenate([[0.0], self._rec(**dyn)])
                fpr = np.concatenate([[0.0], self._fpr(**dyn)])
                rec['AUC'] = float(_trapezoid(tpr, fpr))
        if 'binary' in needs:
            counts = FmeasureV2.get_statistics(binary=pred > 0.5, gt=gt, FG=fg, BG=bg)
            rec.update({k: int(v) for k, v in counts.items()})
            rec['F1'] = float(self._f1(**counts))
            rec['BER_image'] = float(self._ber(**counts))
        return rec


class ForegroundStats:
    """Running sums of per-image entries; mergeable across ranks and workers.

    Args:
        fm_beta2 (float): beta^2 of the F-measure, for the dataset-level handlers. Defaults to 0.3.
    """

    _SCALARS = ('Sm', 'wFm', 'MAE', 'adpEm', 'adpFm', 'F1', 'BER_image')
    _CURVES = ('Em_curve', 'Fm_curve', 'Pre_curve', 'Rec_curve')
    _COUNTS = ('tp', 'fp', 'tn', 'fn')

    def __init__(self, fm_beta2: float = 0.3) -> None:
        self.fm_beta2 = fm_beta2
        self.num_images = 0
        self.sums: Dict[str, float] = {}
        self.curves: Dict[str, np.ndarray] = {}
        self.counts = {k: 0 for k in self._COUNTS}
        self.auc_sum = 0.0
        self.auc_images = 0

    def add(self, rec: dict) -> None:
        """Fold one image's entries (from :class:`ForegroundImageEvaluator`) into the sums."""
        self.num_images += 1
        for key in self._SCALARS:
            if key in rec:
                self.sums[key] = self.sums.get(key, 0.0) + rec[key]
        for key in self._CURVES:
            if key in rec:
                self.curves[key] = self.curves[key] + rec[key] if key in self.curves else rec[key].copy()
        for key in self._COUNTS:
            self.counts[key] += rec.get(key, 0)
        if 'AUC' in rec:
            self.auc_sum += rec['AUC']
            self.auc_images += 1

    def merge(self, other: 'ForegroundStats') -> 'ForegroundStats':
        """Add another accumulator's sums into this one (returns self)."""
        self.num_images += other.num_images
        for key, value in other.sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        for key, value in other.curves.items():
            self.curves[key] = self.curves[key] + value if key in self.curves else value.copy()
        for key in self._COUNTS:
            self.counts[key] += other.counts[key]
        self.auc_sum += other.auc_sum
        self.auc_images += other.auc_images
        return self

    def mean_curve(self, key: str) -> Optional[np.ndarray]:
        """The image-averaged curve (256 thresholds, from >= 255 down to >= 0), or None."""
        if key not in self.curves or self.num_images == 0:
            return None
        return self.curves[key] / self.num_images

    def _mean(self, key: str) -> float:
        return self.sums[key] / self.num_images

    def summary(self, metrics: Sequence[str], paper_convention: bool = False) -> Dict[str, float]:
        """The requested metrics as Python floats (see the module docstring for definitions)."""
        if self.num_images == 0:
            return {m: float('nan') for m in metrics}
        counts = {k: np.int64(v) for k, v in self.counts.items()}
        out = {}
        for name in metrics:
            if name in ('Sm', 'wFm', 'MAE', 'adpEm', 'adpFm', 'F1'):
                value = self._mean(name)
            elif name in ('meanEm', 'maxEm'):
                curve = self.mean_curve('Em_curve')
                value = curve.mean() if name == 'meanEm' else curve.max()
            elif name in ('meanFm', 'maxFm'):
                curve = self.mean_curve('Fm_curve')
                value = curve.mean() if name == 'meanFm' else curve.max()
            elif name == 'BER':
                if paper_convention:
                    value = 0.75 * self._mean('BER_image') * 100.0
                else:
                    value = float(np.mean(BERHandler(False, False)(**counts))) * 100.0
            elif name == 'IoU':
                value = np.mean(IOUHandler(False, False)(**counts))
            elif name == 'Dice':
                value = np.mean(DICEHandler(False, False)(**counts))
            elif name == 'AUC':
                if paper_convention:
                    value = 1.0 - self._mean('BER_image')
                else:
                    value = self.auc_sum / self.auc_images if self.auc_images else float('nan')
            else:  # pragma: no cover - guarded by ForegroundImageEvaluator
                raise KeyError(name)
            out[name] = float(value)
        return out
