"""Evaluate test sets of several tasks in one run, each with its own task's metrics."""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Sequence

from mmengine.dist import get_dist_info, is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ...tasks import TASK_KEY, check_task_list
from .foreground_metric import TASK_METRICS, ForegroundMetric


@METRICS.register_module()
class MultiTaskForegroundMetric(BaseMetric):
    """One :class:`ForegroundMetric` per task; each sample goes to the metric of its ``task`` metainfo.

    mmengine 0.10.7 evaluates one val/test dataloader with one evaluator, so the five tasks' test sets
    of a universal model are a ``ConcatDataset`` whose samples carry their task (``ForegroundDataset
    (task=...)``, ``'task'`` in ``PackSegInputs.meta_keys``). Every task then reports exactly what its
    single-task config reports (``TASK_METRICS``, its min-max convention), per test set as usual, with
    the task as prefix: ``<task>/<metric>`` when the task has one test set in the run,
    ``<task>/<set>/<metric>`` with several. The task a *model* is asked to solve may differ
    (``tools/test.py --task``): the metric always follows the sample's own (dataset) task.

    Distributed runs: the sampler pads the last batch with repeated samples; the last sample a rank
    sees is held back and dropped at ``evaluate`` when it lies beyond the rank's share, so every image
    counts once (the rule ``ForegroundMetric`` applies to itself).

    Args:
        tasks (Sequence[str]): The tasks to expect. Defaults to all five.
        task_kwargs (dict, optional): Per-task extra arguments of ``ForegroundMetric``, e.g.
            ``dict(sd=dict(paper_convention=True))``. Defaults to None.
        extra_metrics (Sequence[str]): Metrics every task reports besides its own set (e.g.
            ``('Sm', 'meanEm', 'MAE')`` to compare tasks on common ground), under the task's conventions.
            Defaults to () (exactly the single-task configs' sets).
        output_dir (str, optional): Writes ``foreground_metrics.json`` there (all tasks' numbers) and each
            task's own ``<task>/foreground_metrics.json``. Defaults to None (no files).
        group_by (str, optional): As in ``ForegroundMetric``, for every task.
        num_workers (int): As in ``ForegroundMetric``, for every task.
        plot_curves (bool): As in ``ForegroundMetric``, for every task.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Unused (names carry the task).
        collect_dir (str, optional): As in mmengine.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 tasks: Sequence[str] = ('sod', 'cod', 'sd', 'dbd', 'fd'),
                 task_kwargs: Optional[Dict[str, dict]] = None,
                 extra_metrics: Sequence[str] = (),
                 output_dir: Optional[str] = None,
                 group_by: Optional[str] = 'dataset_name',
                 num_workers: int = 0,
                 plot_curves: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.tasks = check_task_list(tasks, type(self).__name__)
        task_kwargs = dict(task_kwargs or {})
        extra = set(task_kwargs) - set(self.tasks)
        if extra:
            raise KeyError(f'{type(self).__name__}: task_kwargs names {sorted(extra)}, not among the tasks '
                           f'{list(self.tasks)}.')
        self.output_dir = output_dir
        self._metrics: Dict[str, ForegroundMetric] = OrderedDict()
        for task in self.tasks:
            kwargs = dict(task=task, group_by=group_by, num_workers=num_workers, plot_curves=plot_curves,
                          output_dir=osp.join(output_dir, task) if output_dir else None,
                          collect_device=collect_device, collect_dir=collect_dir)
            if extra_metrics:
                own = TASK_METRICS[task]
                kwargs['metrics'] = tuple(own) + tuple(m for m in extra_metrics if m not in own)
            kwargs.update(task_kwargs.get(task, {}))
            self._metrics[task] = ForegroundMetric(**kwargs)
        self._reset_state()

    def _reset_state(self) -> None:
        self._pending = None  # (task, sample): the last sample seen, handed on when the next arrives
        self._num_seen = 0
        self._dispatched = {task: 0 for task in self.tasks}

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The dataset's meta, shared with the per-task metrics."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for metric in self._metrics.values():
            metric.dataset_meta = dataset_meta

    def _dispatch_pending(self) -> None:
        if self._pending is not None:
            task, sample = self._pending
            self._metrics[task].process(None, [sample])
            self._dispatched[task] += 1
            self._pending = None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Route each sample to its task's metric.

        Raises:
            KeyError: A sample has no task, or a task not in ``tasks`` (the image is named).
        """
        for sample in data_samples:
            task = sample.get(TASK_KEY)
            if task not in self._metrics:
                name = sample.get('img_path', f'#{self._num_seen}')
                what = 'no task' if task is None else f'the task {task!r}'
                raise KeyError(f'{type(self).__name__}: {name} has {what}; expected one of '
                               f"{list(self.tasks)}. Give its dataset task=... and keep 'task' in "
                               'PackSegInputs.meta_keys.')
            self._dispatch_pending()
            self._pending = (task, sample)
            self._num_seen += 1

    def add_pair(self, pred_u8, gt, task: str, group: Optional[str] = None) -> None:
        """Evaluate one 8-bit prediction against a boolean mask with ``task``'s metrics (no runner needed).

        Args:
            pred_u8 (np.ndarray): H x W uint8 prediction map.
            gt (np.ndarray): H x W bool ground truth.
            task (str): The sample's task.
            group (str, optional): Its test set.
        """
        if task not in self._metrics:
            raise KeyError(f'{type(self).__name__}: task {task!r} is not among {list(self.tasks)}.')
        self._dispatch_pending()
        self._metrics[task].add_pair(pred_u8, gt, group)
        self._dispatched[task] += 1
        self._num_seen += 1

    def compute_metrics(self, results: list) -> dict:  # the per-task metrics do the work
        """Unused: :meth:`evaluate` merges the per-task metrics' results."""
        raise NotImplementedError

    def evaluate(self, size: int) -> dict:
        """Evaluate every task (all ranks call every task's metric, in the same order).

        Args:
            size (int): The length of the whole (multi-task) dataset.

        Returns:
            dict: ``<task>/<metric>`` or ``<task>/<set>/<metric>`` -> value.
        """
        rank, world_size = get_dist_info()
        quota = len(range(rank, size, world_size)) if world_size > 1 else size
        if self._pending is not None and self._num_seen <= quota:
            self._dispatch_pending()
        results: Dict[str, float] = OrderedDict()
        per_task = OrderedDict()
        for task, metric in self._metrics.items():
            # A share at least this rank's count: ForegroundMetric keeps all it was given.
            values = metric.evaluate(world_size * max(self._dispatched[task], 1))
            per_task[task] = values
            for name, value in values.items():
                results[f'{task}/{name}'] = value
        self._reset_state()
        if self.output_dir and is_main_process():
            os.makedirs(self.output_dir, exist_ok=True)
            path = osp.join(self.output_dir, 'foreground_metrics.json')
            with open(path, 'w') as f:
                json.dump(dict(tasks=list(self.tasks), results=results, per_task=per_task), f, indent=2)
            print_log(f'Multi-task foreground metrics written to {path}', logger='current')
        return results
