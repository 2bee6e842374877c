"""Per-image foreground metrics from pysodmetrics' public API, and their dataset-level summary.

The math is pysodmetrics' (``py_sod_metrics`` 1.6.2, the library the SOD/COD field reports with),
through its public API only: ``Smeasure``, ``WeightedFmeasure``, ``MAE``, ``Emeasure`` and
``FmeasureV2`` with its metric handlers are stepped on one image and read with ``get_results()`` (fresh
objects per image, so nothing accumulates inside them), and the image's binary TP/FP/TN/FN come from
``FmeasureV2.get_statistics`` (the ``pred > 0.5`` rule of ``FmeasureV2.step``).

The dataset-level values follow pysodmetrics' definitions: means of the per-image values and curves,
and for BER/IoU/Dice its "overall binary" mode, i.e. the handler applied to TP/FP/TN/FN summed over
the dataset (what ``FmeasureV2(...sample_based=False).get_results()`` computes). Each image's record is
a few scalars and, where a metric needs it, 256-value curves (2 KiB each), never pixel data.

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
        self.fm_beta2 = fm_beta2

    def _handlers(self) -> dict:
        """Fresh FmeasureV2 handlers for one image (they keep one entry per ``step``)."""
        handlers = {}
        if 'fm' in self.needs:
            handlers['fm'] = FmeasureHandler(with_dynamic=True, with_adaptive=True, beta=self.fm_beta2)
        if self.needs & {'pr', 'roc'}:
            handlers['rec'] = RecallHandler(with_dynamic=True, with_adaptive=False)
        if 'pr' in self.needs:
            handlers['pre'] = PrecisionHandler(with_dynamic=True, with_adaptive=False)
        if 'roc' in self.needs:
            handlers['fpr'] = FPRHandler(with_dynamic=True, with_adaptive=False)
        if 'binary' in self.needs:
            binary = dict(with_dynamic=False, with_adaptive=False, with_binary=True, sample_based=True)
            handlers['f1'] = FmeasureHandler(**binary, beta=1.0)
            handlers['ber'] = BERHandler(**binary)
        return handlers

    @staticmethod
    def _one_image(metric, pred: np.ndarray, gt: np.ndarray) -> dict:
        # a fresh pysodmetrics object per image: its get_results() is then this image's value, and
        # its per-image lists never grow (the summary over images is ForegroundStats').
        metric.step(pred, gt, normalize=False)
        return metric.get_results()

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
            rec['Sm'] = float(self._one_image(Smeasure(), pred, gt)['sm'])
        if 'wfm' in needs:
            rec['wFm'] = float(self._one_image(WeightedFmeasure(), pred, gt)['wfm'])
        if 'mae' in needs:
            rec['MAE'] = float(self._one_image(MAE(), pred, gt)['mae'])
        if 'em' in needs:
            em = self._one_image(Emeasure(), pred, gt)['em']
            rec['adpEm'] = float(em['adp'])
            rec['Em_curve'] = np.asarray(em['curve'], dtype=np.float64)
        handlers = self._handlers()
        if handlers:
            res = self._one_image(FmeasureV2(metric_handlers=handlers), pred, gt)
            if 'fm' in res:
                rec['adpFm'] = float(res['fm']['adaptive'])
                rec['Fm_curve'] = np.asarray(res['fm']['dynamic'], dtype=np.float64)
            if 'pr' in needs:
                rec['Pre_curve'] = np.asarray(res['pre']['dynamic'], dtype=np.float64)
                rec['Rec_curve'] = np.asarray(res['rec']['dynamic'], dtype=np.float64)
            if 'binary' in needs:
                rec['F1'] = float(res['f1']['binary'])
                rec['BER_image'] = float(res['ber']['binary'])
        fg = int(np.count_nonzero(gt))
        bg = gt.size - fg
        if 'roc' in needs and fg > 0 and bg > 0:
            # thresholds run from >= 255 down to >= 0: TPR/FPR increase; start the ROC at (0, 0).
            tpr = np.concatenate([[0.0], res['rec']['dynamic']])
            fpr = np.concatenate([[0.0], res['fpr']['dynamic']])
            rec['AUC'] = float(_trapezoid(tpr, fpr))
        if 'binary' in needs:
            # the image's counts, for the dataset-level BER/IoU/Dice (FmeasureV2's overall mode)
            counts = FmeasureV2.get_statistics(binary=pred > 0.5, gt=gt, FG=fg, BG=bg)
            rec.update({k: int(v) for k, v in counts.items()})
        return rec


class ForegroundStats:
    """The images' entries of one test set, summed, and the dataset-level metrics from them.

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
