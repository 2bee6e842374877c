# CPU schedule for the mini configs: the paper's optimiser at a higher learning rate (from-scratch
# training of small widths), 300 iterations, no AMP, looser clipping.
# The x0.1 lr of the ViT and the edge enhancer is dropped: it protects pretrained weights, and the mini
# models start from random ones, so every part trains at the base lr. The weight-decay rule (none on norm
# layers and embeddings) is the full schedule's.
_base_ = ['./schedule_20k.py']
max_iters = 300
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(lr=4e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(module_lr_mult=dict(_delete_=True)))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
