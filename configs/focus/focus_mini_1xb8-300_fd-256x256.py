# Mini FOCUS on the bundled mini-benchmark (forgery detection), CPU-sized: see configs/_base_/models/focus_mini.py.
_base_ = [
    '../_base_/models/focus_mini.py', '../_base_/datasets/mini_fd.py',
    '../_base_/schedules/schedule_mini.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=8)
