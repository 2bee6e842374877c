"""MultiTaskForegroundMetric: each sample scored by its task's ForegroundMetric, names prefixed by task."""
import json

import numpy as np
import pytest
import torch

from focus_mm.evaluation.metrics import TASK_METRICS, ForegroundMetric, MultiTaskForegroundMetric


def _samples(seed=0, n=6, tasks=('sod', 'sd', 'fd'), groups=None):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        gt = np.zeros((24, 32), bool)
        y, x = rng.integers(2, 12, 2)
        gt[y:y + 10, x:x + 14] = True
        prob = np.clip(gt * 0.7 + rng.random(gt.shape) * 0.5, 0, 1).astype(np.float32)
        samples.append(dict(img_path=f'img_{i}.png', task=task,
                            dataset_name=(groups or {}).get(task, f'set_{task}'),
                            seg_logits=dict(data=torch.from_numpy(prob)[None]),
                            gt_sem_seg=dict(data=torch.from_numpy(gt.astype(np.int64))[None])))
    return samples


def test_each_task_gets_its_own_metric_set_and_values(tmp_path):
    samples = _samples()
    metric = MultiTaskForegroundMetric(tasks=('sod', 'sd', 'fd'), output_dir=str(tmp_path))
    metric.process(None, samples[:4])
    metric.process(None, samples[4:])
    results = metric.evaluate(len(samples))
    expected = {}
    for task in ('sod', 'sd', 'fd'):
        alone = ForegroundMetric(task=task)
        alone.process(None, [s for s in samples if s['task'] == task])
        expected.update({f'{task}/{k}': v for k, v in alone.evaluate(2).items()})
    assert set(results) == {f'{t}/{m}' for t in ('sod', 'sd', 'fd') for m in TASK_METRICS[t]}
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, abs=1e-12), key
    saved = json.load(open(tmp_path / 'foreground_metrics.json'))
    assert saved['results'] == pytest.approx(results)
    assert (tmp_path / 'sd' / 'foreground_metrics.json').is_file()


def test_extra_metrics_are_added_to_every_tasks_own_set():
    metric = MultiTaskForegroundMetric(tasks=('sod', 'sd', 'fd'), extra_metrics=('Sm', 'MAE'))
    metric.process(None, _samples())
    results = metric.evaluate(6)
    assert set(results) == {'sod/Sm', 'sod/meanEm', 'sod/MAE', 'sd/BER', 'sd/Sm', 'sd/MAE', 'fd/F1', 'fd/AUC',
                            'fd/Sm', 'fd/MAE'}


def test_several_sets_of_one_task_are_reported_per_set():
    samples = _samples(n=4, tasks=('cod', ))
    for s, name in zip(samples, ['CAMO', 'NC4K', 'CAMO', 'NC4K']):
        s['dataset_name'] = name
    metric = MultiTaskForegroundMetric(tasks=('cod', 'sod'))
    metric.process(None, samples)
    results = metric.evaluate(len(samples))
    assert {k.rsplit('/', 1)[0] for k in results} == {'cod/CAMO', 'cod/NC4K'}


def test_samples_without_or_with_a_foreign_task_raise():
    metric = MultiTaskForegroundMetric(tasks=('sod', ))
    sample = _samples(n=1)[0]
    del sample['task']
    with pytest.raises(KeyError, match="img_0.png has no task.*'task' in PackSegInputs.meta_keys"):
        metric.process(None, [sample])
    with pytest.raises(KeyError, match="img_0.png has the task 'sd'"):
        metric.process(None, _samples(n=2, tasks=('sd', )))
    with pytest.raises(KeyError, match='unknown task'):
        MultiTaskForegroundMetric(tasks=('sod', 'shadow'))
    with pytest.raises(KeyError, match='task_kwargs'):
        MultiTaskForegroundMetric(tasks=('sod', ), task_kwargs=dict(sd=dict(paper_convention=True)))


def test_add_pair_without_a_runner_matches_process():
    samples = _samples()
    via_process = MultiTaskForegroundMetric(tasks=('sod', 'sd', 'fd'))
    via_process.process(None, samples)
    via_pairs = MultiTaskForegroundMetric(tasks=('sod', 'sd', 'fd'))
    for s in samples:
        prob = s['seg_logits']['data'][0]
        pred_u8 = prob.mul(255).add_(0.5).to(torch.uint8).numpy()
        via_pairs.add_pair(pred_u8, s['gt_sem_seg']['data'][0].numpy() == 1, task=s['task'],
                           group=s['dataset_name'])
    assert via_process.evaluate(len(samples)) == pytest.approx(via_pairs.evaluate(len(samples)))
