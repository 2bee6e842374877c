# "mini-G": the CPU stand-in of FOCUS with DINOv2-G (wider, deeper, SwiGLU FFN) for the mini ablation
# rows: width 128 (mini: 96), 8 blocks (mini: 4), 4 heads, SwiGLU, two blocks per interaction group.
_base_ = ['./focus_mini.py']
embed_dims = 128
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=8, num_heads=4,
                  feedforward_channels=4 * embed_dims),
        ffn_type='swiglu_fused',
        interaction_groups=[[0, 1], [2, 3], [4, 5], [6, 7]]),
    neck=dict(embed_dims=embed_dims, num_heads=8),
    decode_head=dict(in_channels=[embed_dims] * 4))
