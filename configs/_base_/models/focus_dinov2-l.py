# FOCUS with DINOv2-L (the authors' large model): DINOv2 ViT-L/14 + edge enhancer (ResNet-50 edge
# branch, ViT-Adapter injectors/extractors) + Mask2Former pixel decoder + 2 ground queries.
dinov2_checkpoint = ('https://download.openmmlab.com/mmpretrain/v1.0/dinov2/'
                     'vit-large-p14_dinov2-pre_3rdparty_20230426-f3302d9e.pth')
norm_cfg = dict(type='SyncBN', requires_grad=True)  # per-level output norms; BN on one process
embed_dims = 1024
# ImageNet mean/std on both halves of the 6-channel input, BGR->RGB, pad to 32 (image 0, mask 255):
# FocusDataPreProcessor's defaults.
data_preprocessor = dict(type='FocusDataPreProcessor')
model = dict(
    type='FocusSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DINOv2',
        arch='large',
        interaction_groups=[[0, 5], [6, 11], [12, 17], [18, 23]],
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=dinov2_checkpoint, prefix='backbone.')),
    neck=dict(
        type='EdgeEnhancerNeck',
        embed_dims=embed_dims,
        num_heads=16,
        num_points=4,
        deform_ratio=0.5,
        cffn_ratio=0.25,
        drop_path_rate=0.4,
        norm_cfg=norm_cfg,
        edge_pretrained='torchvision://resnet50'),
    decode_head=dict(
        type='GroundQueryHead',
        in_channels=[embed_dims] * 4,
        feat_channels=256,
        pixel_decoder=dict(type='FocusPixelDecoder', num_encoder_layers=6, num_heads=8, num_points=4,
                           feedforward_channels=1024),
        num_decoder_layers=9,
        num_heads=8,
        feedforward_channels=2048,
        prior_index=4,  # the M0 PCA prior from DINOv2's last block (None turns it off)
        prior_threshold=0.6,
        # mmseg's Mask2Former settings; the assigner is GroundQueryHead's default (HungarianAssigner)
        train_cfg=dict(num_points=12544, oversample_ratio=3.0, importance_sample_ratio=0.75,
                       num_matching_points=12544),
        loss_clip=dict(type='CLIPRefinerLoss', task='sod', clip_model='ViT-B-16', pretrained='openai',
                       loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
find_unused_parameters = False
