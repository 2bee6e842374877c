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

The ablation recipe (paper): batch size 2, 10k iterations for COD, evaluated on CAMO (trained on the usual
CAMO-TR + COD10K-TR); everything else as the full model (AdamW 1e-4, ViT + edge enhancer x0.1, poly,
clip 0.01).
Switches: decode_head.joint_prediction, decode_head.loss_clip, neck.with_edge, backbone.frozen, load_from.
"""
_base_ = ['../focus_dinov2-l_2xb4-20k_cod-512x512.py']
max_iters = 10000
train_dataloader = dict(batch_size=2)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.camo_test))
test_dataloader = val_dataloader
randomness = dict(seed=0)  # tools/analysis_tools/run_ablation.py gives every row the same seed
