# Ground queries on a ResNet, CPU-sized, on the bundled mini-benchmark (SOD). Random init (nothing is
# downloaded): a ResNetV1c-18 in place of the -50, and the ground-query head at the FOCUS mini sizes
# (configs/_base_/models/focus_mini.py: width 64, 2 encoder + 3 decoder layers, 4096 points, CLIP off).
# Same data, schedule and batch as configs/focus/focus_mini_1xb8-300_sod-256x256.py, for comparison.
_base_ = [
    './_base_/ground-queries_r50-v1c.py', '../../../configs/_base_/datasets/mini_single_task.py',
    '../../../configs/_base_/schedules/schedule_mini.py', '../../../configs/_base_/default_runtime.py'
]
model = dict(
    pretrained=None,
    backbone=dict(depth=18, norm_cfg=dict(type='BN', requires_grad=True)),
    decode_head=dict(
        in_channels=[64, 128, 256, 512],  # ResNet-18 c2..c5
        feat_channels=64,
        pixel_decoder=dict(num_encoder_layers=2, num_heads=4, num_points=4, feedforward_channels=128),
        num_decoder_layers=3,
        num_heads=4,
        feedforward_channels=256,
        train_cfg=dict(num_points=4096),
        loss_clip=None))
train_dataloader = dict(batch_size=8)
