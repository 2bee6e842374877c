"""Table 4, row 6 (SOD): FOCUS-G with JP + CR + EE + PR (start from the ADE20K-pretrained checkpoint).

See the COD row 6 config for what PR means here and where the checkpoint goes.
"""
_base_ = ['../../_base_/models/focus_dinov2-g.py', './_base_/ablation-recipe_1xb2-20k_sod-512x512.py']
model = dict(decode_head=dict(loss_clip=dict(task='sod')))
pretrain_checkpoint = 'checkpoints/focus_dinov2-g_ade20k-512x512.pth'
load_from = pretrain_checkpoint
