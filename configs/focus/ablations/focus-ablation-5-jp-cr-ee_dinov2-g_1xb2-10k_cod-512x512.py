"""Table 4, row 5 (COD): FOCUS-G, fully fine-tuned (1.2G trainable), JP + CR + EE, no PR.

The same ablation recipe as row 3 (_base_/ablation-recipe_1xb2-10k_cod-512x512.py) on the DINOv2-G
model. See row 3 for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-g.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(decode_head=dict(loss_clip=dict(task='cod')))
