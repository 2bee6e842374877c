"""Table 4, row 0, mini: the Mask2Former-style baseline (row 1 minus joint prediction).

One foreground query, no background query/class/target, foreground-only inference (M0 is off in every
mini row). See the mini row 3 config.
"""
_base_ = ['../../_base_/models/focus_mini.py', './_base_/ablation-recipe_1xb2-150_mini-cod-256x256.py']
model = dict(
    neck=dict(with_edge=False, edge_pretrained=None),
    decode_head=dict(joint_prediction=False, prior_index=None))
