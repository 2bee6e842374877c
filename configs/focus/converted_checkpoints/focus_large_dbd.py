# The authors' FOCUS-L-DBD (huggingface.co/geshang/focus_large_dbd) after
# tools/model_converters/focus_official_to_mm.py, evaluated as their code does (converted_checkpoint_eval.py).
_base_ = ['../focus_dinov2-l_2xb4-20k_dbd-512x512.py', '../../_base_/converted_checkpoint_eval.py']
model = _base_.converted_checkpoint_model
test_pipeline = _base_.converted_checkpoint_test_pipeline
test_dataloader = dict(dataset=dict(
    datasets=[dict(d, pipeline=test_pipeline) for d in _base_.test_dataloader.dataset.datasets]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
