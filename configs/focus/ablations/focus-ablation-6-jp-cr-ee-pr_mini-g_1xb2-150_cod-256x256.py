"""Table 4, row 6, mini: mini-G with JP + CR + EE + PR.

PR starts from ``pretrain_checkpoint`` (mmengine ``load_from``). No pretrained mini checkpoint exists on
a CPU-only machine, so it is None here and this row trains exactly like row 5 (same seed): in the mini
table it shows how far two identical runs agree. Point it at a checkpoint (e.g. a mini-G trained on
another task: ``--cfg-options load_from=<file>``) to measure PR. See the mini row 3 config.
"""
_base_ = ['../../_base_/models/focus_mini-g.py', './_base_/ablation-recipe_1xb2-150_mini-cod-256x256.py']
model = dict(decode_head=dict(loss_clip=_base_.tiny_clip_loss))
pretrain_checkpoint = None
load_from = pretrain_checkpoint
