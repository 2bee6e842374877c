"""Table 4, row 1 (SOD): FOCUS-L with joint prediction only (row 2 minus the CLIP refiner)."""
_base_ = ['./focus-ablation-2-jp-cr_dinov2-l_1xb2-20k_sod-512x512.py']
model = dict(decode_head=dict(loss_clip=None))
