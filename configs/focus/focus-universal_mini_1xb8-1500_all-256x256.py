# One mini FOCUS for the five tasks of the mini-benchmark (CPU-sized: configs/_base_/models/focus_mini.py):
# the ground queries and the pixel decoder's encoder tokens get a learned per-task offset, and the edge
# ResNet's batch norms a per-task scale and shift (neck.tasks: where the tasks' gradients conflict), chosen
# by each sample's task, so one batch mixes tasks. 1,500 iterations = the compute of the five single-task mini
# configs (300 iterations each). docs/results/universal.md compares them.
_base_ = [
    '../_base_/models/focus_mini.py', '../_base_/datasets/mini_all.py',
    '../_base_/schedules/schedule_mini.py', '../_base_/default_runtime.py'
]
model = dict(
    neck=dict(tasks=_base_.tasks),
    decode_head=dict(tasks=_base_.tasks, task_conditioning=('queries', 'pixel_decoder')))
train_dataloader = dict(batch_size=8)
max_iters = 1500
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
# default_runtime's NonFiniteLossHook, plus checkpoint['meta']['tasks']: which tasks it serves
custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='TaskListHook')]
