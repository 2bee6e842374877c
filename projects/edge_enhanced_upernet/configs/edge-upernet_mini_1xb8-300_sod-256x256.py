# Edge-enhanced UPerNet, CPU-sized, on the bundled mini-benchmark (SOD): the FOCUS mini backbone and
# edge enhancer (configs/_base_/models/focus_mini.py: random init, nothing downloaded) under mmseg's
# UPerHead and FCN auxiliary head at mini widths, binary convention (one logit channel, sigmoid BCE).
# Same data, schedule and batch as configs/focus/focus_mini_1xb8-300_sod-256x256.py, for comparison.
_base_ = [
    '../../../configs/_base_/models/focus_mini.py', '../../../configs/_base_/datasets/mini_single_task.py',
    '../../../configs/_base_/schedules/schedule_mini.py', '../../../configs/_base_/default_runtime.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
embed_dims = 96  # the mini DINOv2 / edge-enhancer width
model = dict(
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[embed_dims] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=64,
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
        channels=32,
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
train_dataloader = dict(batch_size=8)
