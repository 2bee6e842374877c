# The authors' FOCUS-G-COD (huggingface.co/geshang/focus_giant_cod) after
# tools/model_converters/focus_official_to_mm.py, evaluated as their code does (converted_checkpoint_eval.py).
_base_ = ['../focus_dinov2-g_2xb4-20k_cod-512x512.py', '../../_base_/converted_checkpoint_eval.py']
model = _base_.converted_checkpoint_model
test_pipeline = _base_.converted_checkpoint_test_pipeline
test_dataloader = dict(dataset=dict(
    datasets=[dict(d, pipeline=test_pipeline) for d in _base_.test_dataloader.dataset.datasets]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
