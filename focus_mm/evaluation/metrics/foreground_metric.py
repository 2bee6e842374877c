"""The field's foreground-segmentation metrics (SOD, COD, shadow, defocus blur, forgery) for mmengine."""
import json
import multiprocessing as mp
import os
import os.path as osp
from collections import OrderedDict, deque
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ...datasets.mask_io import probability_to_uint8, read_foreground_mask
from .foreground_stats import METRIC_NAMES, ForegroundImageEvaluator, ForegroundStats, normalize_prediction

#: the metrics each task reports in FOCUS' tables (and the field's papers).
TASK_METRICS = {
    'cod': ('Sm', 'meanEm', 'wFm', 'MAE'),
    'sod': ('Sm', 'meanEm', 'MAE'),
    'sd': ('BER', ),
    'dbd': ('adpFm', 'MAE'),
    'fd': ('F1', 'AUC'),
}

_WORKER_EVALUATORS = {}


def _non_finite(name: str) -> str:
    return (f'ForegroundMetric: the prediction of {name!r} has non-finite values (NaN/Inf) in seg_logits; '
            'it is not scored. Check the model (a NaN weight, a diverged training) and this image.')


def _evaluate_pair(pred_u8, gt, minmax, evaluator_args):
    """Worker-process side of ``num_workers > 0``: one image's record (evaluator cached per process)."""
    evaluator = _WORKER_EVALUATORS.get(evaluator_args)
    if evaluator is None:
        evaluator = _WORKER_EVALUATORS[evaluator_args] = ForegroundImageEvaluator(*evaluator_args)
    pred, gt = normalize_prediction(pred_u8, gt, minmax=minmax)
    return evaluator(pred, gt)


#: whether the task's evaluator min-max stretches each map first (pysodmetrics/MATLAB convention for
#: SOD, COD, DBD); shadow BER and forgery F1 judge the model's own 0.5 decision, so they do not.
TASK_MINMAX = {'cod': True, 'sod': True, 'dbd': True, 'sd': False, 'fd': False}


@METRICS.register_module()
class ForegroundMetric(BaseMetric):
    """Foreground segmentation metrics computed with pysodmetrics, per test set.

    What it reads from each data sample (mmseg's ``SegDataSample`` as a dict):

    - the foreground probability ``seg_logits.data`` (1 x H x W in [0, 1], what mmseg's
      ``postprocess_result`` stores for a one-channel head; a 2-channel map is softmaxed and channel 1
      taken; without ``seg_logits``, ``pred_sem_seg`` is used as a 0/1 map), at the original size;
    - the ground truth ``gt_sem_seg.data`` (0/1, at the original size because the test pipeline
      loads it after ``Resize``); without it, the mask file ``seg_map_path`` is read (same rules).

    The probability is quantised as a saved prediction PNG is (``floor(p * 255 + 0.5)`` as uint8, by
    :func:`focus_mm.datasets.mask_io.probability_to_uint8`, the function the writers use),
    then handed to pysodmetrics (``/255``, and min-max stretching where the task's convention has it;
    see ``minmax_normalize``). So the numbers equal what the field's evaluation scripts give on
    PNG maps written by this model. Shapes must match exactly (the error names the image).

    Non-finite values are never scored: a probability map with NaN or Inf raises, naming the image.

    Each image leaves a small record in ``self.results`` (scalars, and the 256-value curves that the
    requested metrics need: 2 KiB each; no pixel data). mmengine's ``BaseMetric.evaluate`` gathers
    them from every rank with ``collect_results``, in dataset order, and drops the samples that the
    distributed sampler repeated to pad the last batch, so every image counts once.

    Args:
        task (str, optional): 'cod', 'sod', 'sd', 'dbd' or 'fd': picks ``metrics`` and
            ``minmax_normalize`` from :data:`TASK_METRICS` / :data:`TASK_MINMAX`. Defaults to None.
        metrics (Sequence[str], optional): metric names (from ``METRIC_NAMES``: Sm, wFm, MAE, adpEm,
            meanEm, maxEm, adpFm, meanFm, maxFm, BER, IoU, Dice, F1, AUC); overrides the task's.
            Defaults to the task's set, or all of them without a task.
        minmax_normalize (bool, optional): min-max stretch each map before evaluating. Defaults to the
            task's convention (True without a task).
        paper_convention (bool): report BER as 0.75 x the mean per-image BER and AUC as the mean
            per-image 1 - BER of the binary map, as the FOCUS authors' evaluator does, to compare
            with the paper's tables. Off by default (standard definitions).
        fm_beta2 (float): beta^2 of the F-measure. Defaults to 0.3.
        group_by (str, optional): sample key that names the test set (``ForegroundDataset`` sets
            ``dataset_name``; keep it in ``PackSegInputs.meta_keys``). Metrics are reported per
            group as ``<group>/<metric>`` when there are several groups, plain otherwise. None: one group.
        output_dir (str, optional): where to write ``foreground_metrics.json`` (and the curves).
            Defaults to None (no files).
        num_workers (int): worker processes that compute the per-image values (pysodmetrics is
            single-threaded numpy; its weighted F-measure dominates). 0 computes in the calling
            process. Results are identical either way. Defaults to 0.
        plot_curves (bool): also save the PR and E-measure/F-measure curves (PNG per test set, data in
            the JSON). Needs ``output_dir``. Defaults to False.
        collect_device (str): 'cpu' or 'gpu', for merging across ranks. Defaults to 'cpu'.
        prefix (str, optional): metric name prefix. Defaults to None.
        collect_dir (str, optional): temporary folder for cpu collection. Defaults to None.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 task: Optional[str] = None,
                 metrics: Optional[Sequence[str]] = None,
                 minmax_normalize: Optional[bool] = None,
                 paper_convention: bool = False,
                 fm_beta2: float = 0.3,
                 group_by: Optional[str] = 'dataset_name',
                 output_dir: Optional[str] = None,
                 plot_curves: bool = False,
                 num_workers: int = 0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if task is not None and task not in TASK_METRICS:
            raise KeyError(f'ForegroundMetric: unknown task {task!r}; choose from {sorted(TASK_METRICS)} '
                           'or give `metrics` explicitly.')
        if plot_curves and not output_dir:
            raise ValueError('ForegroundMetric: plot_curves=True needs output_dir (where to save the PNGs).')
        self.task = task
        self.metrics = tuple(metrics) if metrics else (TASK_METRICS[task] if task else METRIC_NAMES)
        if minmax_normalize is None:
            minmax_normalize = TASK_MINMAX.get(task, True)
        self.minmax_normalize = minmax_normalize
        self.paper_convention = paper_convention
        self.fm_beta2 = fm_beta2
        self.group_by = group_by
        self.output_dir = output_dir
        self.plot_curves = plot_curves
        self.num_workers = int(num_workers)
        self._evaluator_args = (tuple(self.metrics), fm_beta2, plot_curves, paper_convention)
        self._evaluator = ForegroundImageEvaluator(*self._evaluator_args)
        self._pool = None
        self._reset_state()

    # ------------------------------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        self._num_processed = 0
        self._inflight = deque()  # (group, AsyncResult) in submission order, when num_workers > 0

    # ------------------------------------------------------------------------------------ per sample
    @staticmethod
    def _probability(sample: dict, name: str) -> torch.Tensor:
        """The H x W foreground probability of a sample."""
        logits = sample.get('seg_logits')
        if logits is not None:
            data = logits['data'] if isinstance(logits, dict) else logits.data
            if data.dim() == 3 and data.shape[0] == 1:
                prob = data[0].float()
            elif data.dim() == 3 and data.shape[0] == 2:
                if not torch.isfinite(data).all():
                    raise ValueError(_non_finite(name))
                prob = data.float().softmax(dim=0)[1]
            else:
                raise ValueError(f'ForegroundMetric: seg_logits of {name!r} has shape {tuple(data.shape)}; '
                                 'expected 1 x H x W (foreground probability) or 2 x H x W (logits).')
            # one pass: a NaN anywhere makes the min and max NaN, an Inf makes one of them infinite
            low, high = torch.aminmax(prob)
            if not (torch.isfinite(low) and torch.isfinite(high)):
                raise ValueError(_non_finite(name))
            if low < 0 or high > 1:
                raise ValueError(f'ForegroundMetric: the 1-channel seg_logits of {name!r} are outside [0, 1] '
                                 f'({low:.3g}..{high:.3g}); it must hold the probability '
                                 '(mmseg postprocess_result applies the sigmoid for out_channels=1).')
            return prob
        pred = sample.get('pred_sem_seg')
        if pred is None:
            raise KeyError(f'ForegroundMetric: sample {name!r} has neither seg_logits nor pred_sem_seg.')
        data = pred['data'] if isinstance(pred, dict) else pred.data
        return (data.reshape(data.shape[-2:]) == 1).float()

    @staticmethod
    def _ground_truth(sample: dict, name: str) -> np.ndarray:
        """The H x W boolean ground truth of a sample (gt_sem_seg, else the mask file)."""
        gt = sample.get('gt_sem_seg')
        if gt is not None:
            data = gt['data'] if isinstance(gt, dict) else gt.data
            return (data.reshape(data.shape[-2:]) == 1).cpu().numpy()
        path = sample.get('seg_map_path')
        if not path:
            raise KeyError(f'ForegroundMetric: sample {name!r} has no gt_sem_seg and no seg_map_path; '
                           'put LoadForegroundMask in the test pipeline.')
        return read_foreground_mask(path)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Evaluate each sample of a batch and fold its values into the running sums.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence[dict]): the model's outputs as dicts.
        """
        for sample in data_samples:
            name = sample.get('img_path', f'#{self._num_processed}')
            prob = self._probability(sample, name)
            gt = self._ground_truth(sample, name)
            if tuple(prob.shape) != gt.shape:
                raise ValueError(
                    f'ForegroundMetric: prediction {tuple(prob.shape)} and ground truth {gt.shape} of '
                    f'{name!r} differ in size; predictions are compared at the mask\'s original size '
                    '(load the mask after Resize in the test pipeline, and keep ori_shape in '
                    'PackSegInputs.meta_keys).')
            # the rule every saved prediction PNG is written with (floor(p * 255 + 0.5))
            pred_u8 = probability_to_uint8(prob)
            self.add_pair(pred_u8, gt, sample.get(self.group_by) if self.group_by else None)

    def add_pair(self, pred_u8: np.ndarray, gt: np.ndarray, group: Optional[str] = None) -> None:
        """Evaluate one 8-bit prediction against a boolean mask (also usable without a runner).

        Args:
            pred_u8 (np.ndarray): H x W uint8 prediction map (a saved PNG's values).
            gt (np.ndarray): H x W bool ground truth.
            group (str, optional): the test set it belongs to.
        """
        group = group or 'all'
        self._num_processed += 1
        if self.num_workers <= 0:
            pred, gt = normalize_prediction(pred_u8, gt, minmax=self.minmax_normalize)
            self._accept(group, self._evaluator(pred, gt))
            return
        if self._pool is None:
            ctx = mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else 'spawn')
            self._pool = ctx.Pool(self.num_workers)
        task = (pred_u8, gt, self.minmax_normalize, self._evaluator_args)
        self._inflight.append((group, self._pool.apply_async(_evaluate_pair, task)))
        while len(self._inflight) > 2 * self.num_workers:  # bounded: memory stays flat
            self._accept(*self._next_result())

    def _next_result(self):
        group, result = self._inflight.popleft()
        return group, result.get()

    def _accept(self, group: str, rec: dict) -> None:
        # records arrive in submission order: self.results is in the order the sampler gave the samples,
        # which collect_results relies on to drop the padding
        self.results.append((group, rec))

    def _drain(self) -> None:
        while self._inflight:
            self._accept(*self._next_result())
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    # ----------------------------------------------------------------------------------------- final
    def evaluate(self, size: int) -> dict:
        """Wait for the worker processes, then mmengine's ``BaseMetric.evaluate``.

        Args:
            size (int): the dataset length (``collect_results`` drops the distributed sampler's padding).

        Returns:
            dict: metric name (``<group>/<name>`` with several groups) -> value.
        """
        self._drain()
        self._reset_state()
        return super().evaluate(size)

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Sum the images' records per test set and report (and save) the metrics.

        Args:
            results (list[tuple]): ``(group, record)`` of every image of the dataset, from all ranks.

        Returns:
            dict: the metrics.
        """
        merged: Dict[str, ForegroundStats] = OrderedDict()
        for group, rec in results:
            if group not in merged:
                merged[group] = ForegroundStats(self.fm_beta2)
            merged[group].add(rec)
        table = OrderedDict((group, stats.summary(self.metrics, self.paper_convention))
                            for group, stats in sorted(merged.items()))
        self._print_table(table, merged)
        if self.output_dir:
            self._save(table, merged)
        if len(table) == 1:
            return dict(next(iter(table.values())))
        return {f'{group}/{name}': value for group, values in table.items() for name, value in values.items()}

    # ---------------------------------------------------------------------------------------- output
    def _conventions(self) -> dict:
        return dict(
            task=self.task,
            metrics=list(self.metrics),
            minmax_normalize=self.minmax_normalize,
            paper_convention=self.paper_convention,
            fm_beta2=self.fm_beta2,
            units=dict(BER='percent', others='fraction in [0, 1]'),
            quantisation='floor(p * 255 + 0.5) as uint8, then pysodmetrics 1.6.2')

    def _print_table(self, table: Dict[str, dict], merged: Dict[str, ForegroundStats]) -> None:
        header = ['dataset', 'images'] + list(self.metrics)
        rows = [[group, str(merged[group].num_images)] + [f'{v:.4f}' if name != 'BER' else f'{v:.2f}'
                                                       for name, v in values.items()]
                for group, values in table.items()]
        widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
        lines = [' | '.join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + rows]
        lines.insert(1, '-+-'.join('-' * w for w in widths))
        note = ' (paper conventions: BER x0.75, AUC of the binary map)' if self.paper_convention else ''
        print_log('Foreground metrics' + note + ':\n' + '\n'.join(lines), logger='current')

    def _save(self, table: Dict[str, dict], merged: Dict[str, ForegroundStats]) -> None:
        os.makedirs(self.output_dir, exist_ok=True)
        payload = dict(conventions=self._conventions(), results=table,
                       num_images={g: s.num_images for g, s in merged.items()})
        if self.plot_curves:
            from ..plotting import plot_foreground_curves
            payload['curves'] = {}
            for group, stats in merged.items():
                curves = {k: stats.mean_curve(k) for k in ('Pre_curve', 'Rec_curve', 'Fm_curve', 'Em_curve')}
                payload['curves'][group] = {k: v.tolist() for k, v in curves.items() if v is not None}
                plot_foreground_curves(curves, group, self.output_dir)
        path = osp.join(self.output_dir, 'foreground_metrics.json')
        with open(path, 'w') as f:
            json.dump(payload, f, indent=2)
        print_log(f'Foreground metrics written to {path}', logger='current')
