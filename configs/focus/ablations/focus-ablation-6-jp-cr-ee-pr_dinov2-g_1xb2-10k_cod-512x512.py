"""Table 4, row 6 (COD): FOCUS-G with JP + CR + EE + PR (pretraining), the paper's reported setting.

PR ("DINOv2-G pre-trained on ADE20K"): the run starts from a given checkpoint through mmengine's
``load_from`` (loaded after the model's own init: whatever fits is taken, e.g. the backbone and edge
enhancer of an ADE20K-trained FOCUS/Mask2Former-G; mismatched heads are skipped with a warning). No such
weights exist on our machines: train one on ADE20K or convert the authors' checkpoint, put it at
``pretrain_checkpoint`` (or pass ``--cfg-options load_from=<file>``). run_ablation.py refuses to start
this row while the file is missing. See row 3 for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-g.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(decode_head=dict(loss_clip=dict(task='cod')))
pretrain_checkpoint = 'checkpoints/focus_dinov2-g_ade20k-512x512.pth'
load_from = pretrain_checkpoint
