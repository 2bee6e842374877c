# FOCUS's query path on a CNN: mmseg's ResNetV1c-50 (the UPerNet model's backbone, inherited from
# mmseg's own config) feeding our FocusPixelDecoder + GroundQueryHead at the authors' sizes.
#   - no ViT, so no token map: the M0 PCA prior is off (prior_index=None);
#   - FocusSegmentor + FocusDataPreProcessor read our foreground datasets' 6-channel input (image +
#     EdgePrior image) and pass only the image to the ResNet; the CLIP refiner gets images= from it.
_base_ = ['mmseg::_base_/models/upernet_r50.py']
# ImageNet mean/std on both halves of the 6-channel input, BGR->RGB, pad to 32 (image 0, mask 255):
# FocusDataPreProcessor's defaults.
data_preprocessor = dict(_delete_=True, type='FocusDataPreProcessor')
model = dict(
    type='FocusSegmentor',
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _delete_=True,
        type='GroundQueryHead',
        in_channels=[256, 512, 1024, 2048],  # ResNet-50 c2..c5, strides 4..32
        feat_channels=256,
        pixel_decoder=dict(type='FocusPixelDecoder', num_encoder_layers=6, num_heads=8, num_points=4,
                           feedforward_channels=1024),
        num_decoder_layers=9,
        num_heads=8,
        feedforward_channels=2048,
        prior_index=None,  # M0 needs DINOv2 tokens
        # mmseg's Mask2Former settings; the assigner is GroundQueryHead's default (HungarianAssigner)
        train_cfg=dict(num_points=12544, oversample_ratio=3.0, importance_sample_ratio=0.75,
                       num_matching_points=12544),
        loss_clip=dict(type='CLIPRefinerLoss', task='sod', clip_model='ViT-B-16', pretrained='openai',
                       loss_weight=1.0)),
    auxiliary_head=None)
