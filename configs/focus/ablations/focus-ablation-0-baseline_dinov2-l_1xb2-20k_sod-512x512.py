"""Table 4, row 0 (SOD): the Mask2Former-style baseline on DINOv2-L (row 1 minus joint prediction).

One foreground query, no background query/class/target, foreground-only inference; M0 off (it belongs
to the ground queries). See the COD row 3 config for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-20k_sod-512x512.py']
model = dict(
    neck=dict(with_edge=False, edge_pretrained=None),
    decode_head=dict(joint_prediction=False, prior_index=None, loss_clip=None))
