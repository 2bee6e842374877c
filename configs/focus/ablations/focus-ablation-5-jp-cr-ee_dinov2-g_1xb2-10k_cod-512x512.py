"""Table 4, row 5 (COD): FOCUS-G, fully fine-tuned (1.2G trainable), JP + CR + EE, no PR.

The same ablation recipe as row 3 on the DINOv2-G model. See row 3 for our reading of every row.
"""
_base_ = ['../focus_dinov2-g_2xb4-20k_cod-512x512.py']
max_iters = 10000
train_dataloader = dict(batch_size=2)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.camo_test))
test_dataloader = val_dataloader
randomness = dict(seed=0)
