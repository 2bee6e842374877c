# Mini-benchmark, all five tasks for one universal model: the union of the five training sets (60 images
# each, so the tasks are balanced by construction) and the five test sets in one ConcatDataset, each
# sample carrying its task (MiniBenchDataset sets `task`, 'task' is in PackSegInputs.meta_keys).
# MultiTaskForegroundMetric evaluates every test set with its own task's metrics (the single-task
# configs' ForegroundMetric(task=...) sets), reported as `<task>/<metric>`.
_base_ = ['./mini_bench_common.py']
tasks = ('sod', 'cod', 'sd', 'dbd', 'fd')
mini_train_sets = [
    dict(type='MiniBenchDataset', task=task, split='train', pipeline=_base_.train_pipeline,
         **_base_.mini_bench) for task in tasks
]
mini_test_sets = [
    dict(type='MiniBenchDataset', task=task, split='test', test_mode=True, pipeline=_base_.test_pipeline,
         **_base_.mini_bench) for task in tasks
]
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True, sampler=_base_.train_sampler,
    dataset=dict(type='ConcatDataset', datasets=mini_train_sets))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='ConcatDataset', datasets=mini_test_sets))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskForegroundMetric', tasks=tasks)
test_evaluator = val_evaluator
