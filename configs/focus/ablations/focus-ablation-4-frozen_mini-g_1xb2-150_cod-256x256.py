"""Table 4, row 4, mini: mini-G with the backbone frozen, JP + CR + EE.

A frozen *random* ViT: the neck and decoder learn on fixed random features. See the mini row 3 config.
"""
_base_ = ['../../_base_/models/focus_mini-g.py', './_base_/ablation-recipe_1xb2-150_mini-cod-256x256.py']
model = dict(backbone=dict(frozen=True), decode_head=dict(loss_clip=_base_.tiny_clip_loss))
