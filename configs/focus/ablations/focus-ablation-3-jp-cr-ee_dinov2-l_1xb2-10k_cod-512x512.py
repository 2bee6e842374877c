"""Table 4, row 3 (COD): FOCUS-L with JP + CR + EE, no PR; the reference of the L ablation rows.

Our reading of the paper's Table 4 (its check marks did not survive in our copy; the ablation paragraph
and the column order JP, CR, EE, PR say that each row adds one module to the row before):

    id  variant     backbone            JP  CR  EE  PR   trainable
    0   baseline    DINOv2-L            -   -   -   -    0.3G   Mask2Former-style: one foreground query
    1   FOCUS       DINOv2-L            x   -   -   -    0.3G   + ground queries, joint prediction
    2   FOCUS       DINOv2-L            x   x   -   -    0.3G   + CLIP refiner
    3   FOCUS       DINOv2-L            x   x   x   -    0.3G   + edge enhancer (this file)
    4   FOCUS       DINOv2-G (frozen)   x   x   x   -    0.1G   row 5 with the ViT frozen
    5   FOCUS       DINOv2-G            x   x   x   -    1.2G
    6   FOCUS       DINOv2-G            x   x   x   x    1.2G   + pretraining (start from a checkpoint)

The M0 prior is no column of Table 4: it belongs to the ground queries, so it is on wherever JP is
(rows 1-6, our full model's default) and off in the baseline, which has no ground queries.

The ablation recipe (paper: batch size 2, 10k iterations for COD, evaluated on CAMO) is
_base_/ablation-recipe_1xb2-10k_cod-512x512.py. Switches: decode_head.joint_prediction,
decode_head.loss_clip, neck.with_edge, backbone.frozen, load_from.
"""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(decode_head=dict(loss_clip=dict(task='cod')))
