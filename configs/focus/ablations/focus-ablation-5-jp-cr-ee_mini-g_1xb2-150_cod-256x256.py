"""Table 4, row 5, mini: the bigger backbone ("mini-G") fully trained, JP + CR + EE, no PR.

DINOv2-G is wider, deeper and has a SwiGLU FFN; its mini stand-in: width 128 (vs 96), 8 blocks (vs 4),
4 heads, SwiGLU, two blocks per interaction group. See the mini row 3 config.
"""
_base_ = ['./focus-ablation-3-jp-cr-ee_mini_1xb2-150_cod-256x256.py']
embed_dims = 128
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=8, num_heads=4,
                  feedforward_channels=4 * embed_dims),
        ffn_type='swiglu_fused',
        interaction_groups=[[0, 1], [2, 3], [4, 5], [6, 7]]),
    neck=dict(embed_dims=embed_dims, num_heads=8),
    decode_head=dict(in_channels=[embed_dims] * 4))
