# One FOCUS DINOv2-L for all five tasks (13 sets): the authors' recipe per step (2 GPUs x 4 images, 512
# crops, AdamW, poly, AMP, M0 prior, CLIP refiner), 80k iterations over the task-balanced union of the
# five training sets (configs/_base_/datasets/all_tasks.py). The queries and the pixel decoder's encoder
# tokens get a learned per-task offset, and the edge ResNet-50's batch norms a per-task scale and shift
# (neck.tasks; at the neck's x0.1 lr), chosen by each sample's task; the CLIP refiner contrasts every image
# with its own task's prompts (forgery at weight 0.01, as the single-task FD config). Not trained here.
_base_ = [
    '../_base_/models/focus_dinov2-l.py', '../_base_/datasets/all_tasks.py',
    '../_base_/schedules/schedule_20k.py', '../_base_/default_runtime.py'
]
model = dict(
    neck=dict(tasks=_base_.tasks),
    decode_head=dict(
        tasks=_base_.tasks,
        task_conditioning=('queries', 'pixel_decoder'),
        loss_clip=dict(task='sod', task_loss_weights=dict(fd=0.01))))
max_iters = 80000
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
# default_runtime's NonFiniteLossHook, plus checkpoint['meta']['tasks']: which tasks it serves
custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='TaskListHook')]
