# Runtime shared by every focus_mm config: mmseg's registries plus ours (imported by custom_imports).
default_scope = 'mmseg'
custom_imports = dict(imports=['focus_mm'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo when there is no GPU
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# Stop at the first NaN/Inf loss term, naming the iteration and the term, before the optimiser step
# (focus_mm/engine/hooks/non_finite_loss_hook.py). A config that sets custom_hooks must list it again.
custom_hooks = [dict(type='NonFiniteLossHook')]
tta_model = dict(type='ForegroundTTAModel')  # flip TTA averaging the foreground probability
