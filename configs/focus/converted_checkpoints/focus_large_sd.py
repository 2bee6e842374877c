# The authors' FOCUS-L-SD (huggingface.co/geshang/focus_large_sd) after
# tools/model_converters/focus_official_to_mm.py, evaluated as their code does (converted_checkpoint_eval.py).
_base_ = ['../focus_dinov2-l_2xb4-20k_sd-512x512.py', '../../_base_/converted_checkpoint_eval.py']
model = _base_.converted_checkpoint_model
test_pipeline = _base_.converted_checkpoint_test_pipeline
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
