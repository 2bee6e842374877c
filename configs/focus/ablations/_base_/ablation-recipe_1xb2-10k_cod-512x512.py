# The paper's COD ablation recipe (Table 4), everything but the model: batch size 2, 10k iterations, trained
# on CAMO-TR + COD10K-TR, evaluated on CAMO; otherwise the full recipe (AdamW 1e-4, ViT + edge enhancer
# x0.1, poly, clip 0.01). A row config adds a model base and the CLIP task, e.g. rows 3 (DINOv2-L) and 5
# (DINOv2-G).
_base_ = [
    '../../../_base_/datasets/cod_camo_cod10k.py', '../../../_base_/schedules/schedule_20k.py',
    '../../../_base_/default_runtime.py'
]
max_iters = 10000
train_dataloader = dict(batch_size=2)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
val_dataloader = dict(dataset=dict(_delete_=True, pipeline=_base_.test_pipeline, **_base_.camo_test))
test_dataloader = val_dataloader
randomness = dict(seed=0)  # tools/experiments/run_ablation.py gives every row the same seed
