# Ground queries on ResNet-50, salient object detection (full size, real data; ImageNet ResNetV1c-50
# from mmseg's `open-mmlab://resnet50_v1c`, CLIP ViT-B/16 `openai` for the refiner): FOCUS's recipe.
_base_ = [
    './_base_/ground-queries_r50-v1c.py', '../../../configs/_base_/datasets/sod_duts.py',
    '../../../configs/_base_/schedules/schedule_20k.py', '../../../configs/_base_/default_runtime.py'
]
# No neck here: the x0.1 lr of the schedule goes to the pretrained backbone alone.
optim_wrapper = dict(paramwise_cfg=dict(module_lr_mult=dict(_delete_=True, backbone=0.1)))
