"""Table 4, row 0 (COD): the Mask2Former-style baseline on DINOv2-L (row 1 minus joint prediction).

JP off: one foreground query and a (foreground, no-object) class head, no background query, class or
target, and Mask2Former's semantic inference of the foreground class (``p(fg) * sigmoid(mask) > 0.5``)
instead of the joint decision. The M0 prior goes with the ground queries: off. No CLIP refiner, no edge
enhancer. See row 3 for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(
    neck=dict(with_edge=False, edge_pretrained=None),
    decode_head=dict(joint_prediction=False, prior_index=None, loss_clip=None))
