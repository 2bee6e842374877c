"""Table 4, row 4 (SOD): FOCUS-G with the DINOv2-G backbone frozen (0.1G trainable), JP + CR + EE."""
_base_ = ['./focus-ablation-5-jp-cr-ee_dinov2-g_1xb2-20k_sod-512x512.py']
model = dict(backbone=dict(frozen=True))
