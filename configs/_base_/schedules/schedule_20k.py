# The authors' recipe: AdamW 1e-4, weight decay 0.05, poly decay, 20k iterations, gradient clipping by
# the full-model L2 norm at 0.01, mixed precision (AmpOptimWrapper below: needs a GPU).
# Their build_optimizer: lr x0.1 on their backbone module, which holds the ViT AND the whole edge enhancer
# (edge ResNet, projections, injectors, extractors, level embeddings, up-conv, output norms) = our
# `backbone` + `neck`; weight decay 0 on every normalisation layer (BN, SyncBN, GN, LN, by type) and on
# every nn.Embedding (the decoder's query and level embeddings; also our pixel decoder's level embedding,
# an nn.Embedding as in mmdet, where the authors' is a plain tensor that decays); every other tensor
# (position embedding, class token, layer scales, the neck's level embedding and injector gammas
# included) decays at 0.05.
# FocusOptimWrapperConstructor applies that rule by part and layer type (mmengine's custom_keys cannot:
# a custom key overrides norm_decay_mult) and logs one summary line instead of one line per parameter.
optimizer = dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
optim_wrapper = dict(
    type='AmpOptimWrapper',  # as the authors; mmengine refuses it without a GPU (schedule_mini: OptimWrapper)
    constructor='FocusOptimWrapperConstructor',
    optimizer=optimizer,
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(module_lr_mult=dict(backbone=0.1, neck=0.1), norm_decay_mult=0.0,
                       embed_decay_mult=0.0))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=20000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
