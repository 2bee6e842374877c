"""Table 4, row 3 (SOD): FOCUS-L with JP + CR + EE, no PR; the reference of the L ablation rows.

The paper's SOD ablation recipe: batch size 2, 20k iterations, trained on DUTS-TR, evaluated on
PASCAL-S; everything else as the full model. Our reading of every row of Table 4 is in
focus-ablation-3-jp-cr-ee_dinov2-l_1xb2-10k_cod-512x512.py.
"""
_base_ = ['../focus_dinov2-l_2xb4-20k_sod-512x512.py']
max_iters = 20000
train_dataloader = dict(batch_size=2)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.pascal_s_test))
test_dataloader = val_dataloader
randomness = dict(seed=0)  # tools/analysis_tools/run_ablation.py gives every row the same seed
