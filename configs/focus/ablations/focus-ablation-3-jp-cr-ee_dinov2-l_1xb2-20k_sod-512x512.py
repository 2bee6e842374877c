"""Table 4, row 3 (SOD): FOCUS-L with JP + CR + EE, no PR; the reference of the L ablation rows.

The paper's SOD ablation recipe (batch size 2, 20k iterations, trained on DUTS-TR, evaluated on
PASCAL-S) is _base_/ablation-recipe_1xb2-20k_sod-512x512.py. Our reading of every row of Table 4 is in
focus-ablation-3-jp-cr-ee_dinov2-l_1xb2-10k_cod-512x512.py.
"""
_base_ = ['../../_base_/models/focus_dinov2-l.py', './_base_/ablation-recipe_1xb2-20k_sod-512x512.py']
model = dict(decode_head=dict(loss_clip=dict(task='sod')))
