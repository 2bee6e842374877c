"""Table 4, row 4 (COD): FOCUS-G with the DINOv2-G backbone frozen (0.1G trainable), JP + CR + EE.

Row 5 with ``backbone.frozen=True``: the ViT gets no gradient and stays in eval mode; the edge enhancer
and the decoder learn. See row 3 for our reading of every row.
"""
_base_ = ['../../_base_/models/focus_dinov2-g.py', './_base_/ablation-recipe_1xb2-10k_cod-512x512.py']
model = dict(backbone=dict(frozen=True), decode_head=dict(loss_clip=dict(task='cod')))
