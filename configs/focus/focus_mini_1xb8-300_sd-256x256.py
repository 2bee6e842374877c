# Mini FOCUS on the bundled mini-benchmark (shadow detection), CPU-sized: see configs/_base_/models/focus_mini.py.
_base_ = [
    '../_base_/models/focus_mini.py', '../_base_/datasets/mini_sd.py',
    '../_base_/schedules/schedule_mini.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=8)
