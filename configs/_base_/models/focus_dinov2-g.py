# FOCUS with DINOv2-G (the paper's best models): ViT-g/14 with SwiGLU FFN, 40 blocks in 4 groups.
_base_ = ['./focus_dinov2-l.py']
dinov2_checkpoint = ('https://download.openmmlab.com/mmpretrain/v1.0/dinov2/'
                     'vit-giant-p14_dinov2-pre_3rdparty_20230426-2934a630.pth')
embed_dims = 1536
model = dict(
    backbone=dict(
        arch='giant',
        interaction_groups=[[0, 9], [10, 19], [20, 29], [30, 39]],
        init_cfg=dict(checkpoint=dinov2_checkpoint)),
    neck=dict(embed_dims=embed_dims, num_heads=24),
    decode_head=dict(in_channels=[embed_dims] * 4))
