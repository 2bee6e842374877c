# FOCUS, DINOv2-L, camouflaged object detection: the authors' recipe (2 GPUs x 4 images, 20k iterations,
# 512 crops).
_base_ = [
    '../_base_/models/focus_dinov2-l.py', '../_base_/datasets/cod_camo_cod10k.py',
    '../_base_/schedules/schedule_20k.py', '../_base_/default_runtime.py'
]
model = dict(decode_head=dict(loss_clip=dict(task='cod')))
