# Edge-enhanced UPerNet, DINOv2-L, salient object detection (full size, real data and weights).
# FOCUS's DINOv2-L backbone and EdgeEnhancerNeck unchanged; mmseg's UPerHead (+ its FCN auxiliary head)
# replaces the ground-query head, in mmseg's binary convention: one logit channel, sigmoid BCE, threshold.
# The neck drives the backbone, so the segmentor stays FocusSegmentor; the neck's 5th output (the DINOv2
# token map for the M0 prior) is simply not selected by in_index.
_base_ = [
    '../../../configs/_base_/models/focus_dinov2-l.py', '../../../configs/_base_/datasets/sod_duts.py',
    '../../../configs/_base_/schedules/schedule_20k.py', '../../../configs/_base_/default_runtime.py'
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
embed_dims = 1024
model = dict(
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[embed_dims] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True,
                         loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=embed_dims,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True,
                         loss_weight=0.4)))
