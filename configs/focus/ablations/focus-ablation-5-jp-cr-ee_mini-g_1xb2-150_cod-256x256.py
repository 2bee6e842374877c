"""Table 4, row 5, mini: the bigger backbone ("mini-G") fully trained, JP + CR + EE, no PR.

DINOv2-G is wider, deeper and has a SwiGLU FFN; its mini stand-in: width 128 (vs 96), 8 blocks (vs 4),
4 heads, SwiGLU, two blocks per interaction group. See the mini row 3 config.
"""
_base_ = ['../../_base_/models/focus_mini-g.py', './_base_/ablation-recipe_1xb2-150_mini-cod-256x256.py']
model = dict(decode_head=dict(loss_clip=_base_.tiny_clip_loss))
