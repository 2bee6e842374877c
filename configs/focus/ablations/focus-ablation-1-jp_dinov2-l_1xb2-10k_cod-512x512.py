"""Table 4, row 1 (COD): FOCUS-L with joint prediction only (row 2 minus the CLIP refiner).

See row 3 for our reading of every row.
"""
_base_ = ['./focus-ablation-2-jp-cr_dinov2-l_1xb2-10k_cod-512x512.py']
model = dict(decode_head=dict(loss_clip=None))
