# CPU schedule for the mini configs: the paper's optimiser at a higher learning rate (from-scratch
# training of small widths), 300 iterations, no AMP, looser clipping.
_base_ = ['./schedule_20k.py']
max_iters = 300
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(lr=4e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)}))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
