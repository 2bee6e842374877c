# FOCUS, DINOv2-G frozen (the paper's "0.1G trainable" variant), defocus blur detection.
_base_ = ['./focus_dinov2-g_2xb4-20k_dbd-512x512.py']
model = dict(backbone=dict(frozen=True))
