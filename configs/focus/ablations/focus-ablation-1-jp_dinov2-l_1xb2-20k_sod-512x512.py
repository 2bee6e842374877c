"""Table 4, row 1 (SOD): FOCUS-L with joint prediction only (row 2 minus the CLIP refiner)."""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-20k_sod-512x512.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None), decode_head=dict(loss_clip=None))
