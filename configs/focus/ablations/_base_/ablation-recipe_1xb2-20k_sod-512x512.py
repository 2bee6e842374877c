# The paper's SOD ablation recipe (Table 4), everything but the model: batch size 2, 20k iterations, trained
# on DUTS-TR, evaluated on PASCAL-S; otherwise the full recipe. A row config adds a model base and the CLIP
# task, e.g. rows 3 (DINOv2-L) and 5 (DINOv2-G).
_base_ = [
    '../../../_base_/datasets/sod_duts.py', '../../../_base_/schedules/schedule_20k.py',
    '../../../_base_/default_runtime.py'
]
max_iters = 20000
train_dataloader = dict(batch_size=2)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
val_dataloader = dict(dataset=dict(_delete_=True, pipeline=_base_.test_pipeline, **_base_.pascal_s_test))
test_dataloader = val_dataloader
randomness = dict(seed=0)  # tools/experiments/run_ablation.py gives every row the same seed
