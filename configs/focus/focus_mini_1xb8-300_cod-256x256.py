# Mini FOCUS on the bundled mini-benchmark (camouflaged object detection), CPU-sized:
# see configs/_base_/models/focus_mini.py.
_base_ = [
    '../_base_/models/focus_mini.py', '../_base_/datasets/mini_single_task.py',
    '../_base_/schedules/schedule_mini.py', '../_base_/default_runtime.py'
]
task = 'cod'
train_dataloader = dict(batch_size=8, dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
