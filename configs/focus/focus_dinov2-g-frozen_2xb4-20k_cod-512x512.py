# FOCUS, DINOv2-G frozen (the paper's "0.1G trainable" variant), camouflaged object detection.
_base_ = ['./focus_dinov2-g_2xb4-20k_cod-512x512.py']
model = dict(backbone=dict(frozen=True))
