"""Table 4, row 4, mini: mini-G with the backbone frozen, JP + CR + EE.

A frozen *random* ViT: the neck and decoder learn on fixed random features. See the mini row 3 config.
"""
_base_ = ['./focus-ablation-5-jp-cr-ee_mini-g_1xb2-150_cod-256x256.py']
model = dict(backbone=dict(frozen=True))
