"""Table 4, row 2 (SOD): FOCUS-L with JP + CR, edge enhancer off (row 3 minus EE; simple pyramid neck)."""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-20k_sod-512x512.py']
model = dict(neck=dict(with_edge=False, edge_pretrained=None), decode_head=dict(loss_clip=dict(task='sod')))
