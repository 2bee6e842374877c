# CLIP-refined SegFormer, MiT-B2, salient object detection (full size, real data and weights).
# mmseg's SegFormer model (inherited from mmseg's own config) in mmseg's binary convention, with FOCUS's
# CLIPRefinerLoss (frozen CLIP ViT-B/16 `openai`) as an extra loss on its one-channel output
# (CLIPRefinedSegformerHead, this project's code). FocusSegmentor passes the un-normalised images to
# that loss and reads our foreground datasets' 6-channel input (the MiT sees the image half only).
_base_ = [
    'mmseg::_base_/models/segformer_mit-b0.py', '../../../configs/_base_/datasets/sod_duts.py',
    '../../../configs/_base_/schedules/schedule_20k.py', '../../../configs/_base_/default_runtime.py'
]
custom_imports = dict(imports=['focus_mm', 'projects.clip_refined_segformer.clip_segformer'])
mit_b2_checkpoint = ('https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/'
                     'mit_b2_20220624-66e8bf70.pth')  # as mmseg's segformer_mit-b2 configs
# ImageNet mean/std on both halves of the 6-channel input, BGR->RGB, pad to 32 (image 0, mask 255):
# FocusDataPreProcessor's defaults.
data_preprocessor = dict(_delete_=True, type='FocusDataPreProcessor')
model = dict(
    type='FocusSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        embed_dims=64,
        num_layers=[3, 4, 6, 3],
        init_cfg=dict(type='Pretrained', checkpoint=mit_b2_checkpoint)),
    decode_head=dict(
        type='CLIPRefinedSegformerHead',
        in_channels=[64, 128, 320, 512],
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True,
                         loss_weight=1.0),
        loss_clip=dict(type='CLIPRefinerLoss', task='sod', clip_model='ViT-B-16', pretrained='openai',
                       loss_weight=1.0)))
# No neck here: the x0.1 lr of the schedule goes to the pretrained backbone alone.
optim_wrapper = dict(paramwise_cfg=dict(module_lr_mult=dict(_delete_=True, backbone=0.1)))
