"""Table 4, row 4 (SOD): FOCUS-G with the DINOv2-G backbone frozen (0.1G trainable), JP + CR + EE."""
_base_ = ['../../_base_/models/focus_dinov2-g.py', './_base_/ablation-recipe_1xb2-20k_sod-512x512.py']
model = dict(backbone=dict(frozen=True), decode_head=dict(loss_clip=dict(task='sod')))
