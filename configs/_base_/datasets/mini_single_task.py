# Mini-benchmark, one task: 60 train / 20 test images of that task (see mini_bench_common.py).
# The task is salient object detection unless the config that uses this file sets another, with
#     task = 'cod'
#     train_dataloader = dict(dataset=dict(task=task))
#     val_dataloader = dict(dataset=dict(task=task))
#     test_dataloader = val_dataloader
#     val_evaluator = dict(task=task)
#     test_evaluator = val_evaluator
# (mmengine reads this file before the config that uses it: a variable set there cannot reach the
# dicts here, so the task goes into each of them).
_base_ = ['./mini_bench_common.py']
task = 'sod'
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True, sampler=_base_.train_sampler,
    dataset=dict(type='MiniBenchDataset', task=task, split='train', pipeline=_base_.train_pipeline,
                 **_base_.mini_bench))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, sampler=_base_.test_sampler,
    dataset=dict(type='MiniBenchDataset', task=task, split='test', test_mode=True,
                 pipeline=_base_.test_pipeline, **_base_.mini_bench))
test_dataloader = val_dataloader
val_evaluator = dict(type='ForegroundMetric', task=task)
test_evaluator = val_evaluator
