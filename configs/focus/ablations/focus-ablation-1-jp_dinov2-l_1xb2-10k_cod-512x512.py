"""Table 4, row 1 (COD): FOCUS-L with joint prediction only (row 2 minus the CLIP refiner).

See row 3 for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None), decode_head=dict(loss_clip=None))
