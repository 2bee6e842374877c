# CLIP-refined SegFormer, CPU-sized, on the bundled mini-benchmark (SOD): mmseg's SegFormer MiT-B0
# (random init, nothing downloaded), BN instead of SyncBN, and the CLIP refiner on a SMALL RANDOM CLIP
# (open_clip.CLIP built from `model_cfg`): it exercises the loss's data path and gradients, but a random
# CLIP carries no image-text knowledge, so it only regularises here (as FOCUS mini, which turns CLIP off).
# With CLIP weights at hand: model.decode_head.loss_clip=dict(type='CLIPRefinerLoss', pretrained=FILE).
# Same data, schedule and batch as configs/focus/focus_mini_1xb8-300_sod-256x256.py, for comparison.
_base_ = [
    'mmseg::_base_/models/segformer_mit-b0.py', '../../../configs/_base_/datasets/mini_single_task.py',
    '../../../configs/_base_/schedules/schedule_mini.py', '../../../configs/_base_/default_runtime.py'
]
custom_imports = dict(imports=['focus_mm', 'projects.clip_refined_segformer.clip_segformer'])
norm_cfg = dict(type='BN', requires_grad=True)
small_random_clip = dict(
    embed_dim=64,
    vision_cfg=dict(image_size=64, patch_size=16, width=64, layers=2, head_width=32, mlp_ratio=2.0),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=2))
# ImageNet mean/std on both halves of the 6-channel input, BGR->RGB, pad to 32 (image 0, mask 255):
# FocusDataPreProcessor's defaults.
data_preprocessor = dict(_delete_=True, type='FocusDataPreProcessor')
model = dict(
    type='FocusSegmentor',
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        type='CLIPRefinedSegformerHead',
        channels=128,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True,
                         loss_weight=1.0),
        loss_clip=dict(type='CLIPRefinerLoss', task='sod', pretrained=None, model_cfg=small_random_clip,
                       loss_weight=1.0)))
train_dataloader = dict(batch_size=8)
