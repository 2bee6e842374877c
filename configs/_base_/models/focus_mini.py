# A CPU-sized FOCUS for the mini-benchmark: the same components at small widths and depths, trained
# from scratch (no weights can be downloaded on a CPU-only machine).
#   - M0 prior OFF: it is the PCA of *pretrained* DINOv2 features; from random weights it is noise.
#   - CLIP refiner OFF: its signal comes from pretrained CLIP; a random CLIP only regularises.
# So mini numbers measure the pipeline, not the paper's setting; see docs/model_zoo.md.
_base_ = ['./focus_dinov2-l.py']
embed_dims = 96
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=4, num_heads=3,
                  feedforward_channels=4 * embed_dims),
        img_size=224,
        interaction_groups=[[0, 0], [1, 1], [2, 2], [3, 3]],
        drop_path_rate=0.0,
        init_cfg=None),
    neck=dict(
        embed_dims=embed_dims,
        num_heads=6,
        drop_path_rate=0.0,
        norm_cfg=dict(type='BN', requires_grad=True),
        edge_backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
                           base_channels=32, norm_cfg=dict(type='BN', requires_grad=True)),
        edge_pretrained=None),
    decode_head=dict(
        in_channels=[embed_dims] * 4,
        feat_channels=64,
        pixel_decoder=dict(num_encoder_layers=2, num_heads=4, num_points=4, feedforward_channels=128),
        num_decoder_layers=3,
        num_heads=4,
        feedforward_channels=256,
        prior_index=None,
        train_cfg=dict(num_points=4096),
        loss_clip=None))
