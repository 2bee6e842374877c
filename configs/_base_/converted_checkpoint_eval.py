# Evaluation of the authors' converted checkpoints (tools/model_converters/focus_official_to_mm.py):
# settings that make our model predict what their code predicts at their test size. A mixin:
# configs/focus/converted_checkpoints/*.py put it beside a training config and apply these values
# (mmengine cannot merge two bases that define the same keys, hence the `converted_checkpoint_` names).
# Not for training: our geometry, edge prior and decision rule stay the defaults there. Every difference
# is listed in docs/advanced_guides/authors_code.md.
converted_checkpoint_model = dict(
    # their edge input: per-channel Canny of the normalised image x 255, BGR, in [0, 1]; computed from
    # the normalised, padded batch, so the pipeline below has no EdgePrior
    data_preprocessor=dict(edge_input='preprocessor'),
    # their stride-14 convolution drops the remainder (36 x 36 tokens at 512) and their adapter stretches
    # the token grid over the image
    backbone=dict(token_geometry='stretched', init_cfg=None),  # every weight comes from the converted file
    neck=dict(edge_pretrained=None),
    # no M0 prior at test time (their code computes none); no CLIP refiner (training only)
    decode_head=dict(prior_index=None, loss_clip=None),
    # their evaluator scores the binary `_merge_mask` decision
    test_cfg=dict(mode='whole', decision_rule='scored_pair_merge'))
# Their test loader: PIL decoding (EXIF applied) and PIL bilinear resize of the short side to 512
# (long side <= 2048), as detectron2's ResizeShortestEdge; the padding to 32 is the data preprocessor's.
converted_checkpoint_test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True, backend='pillow', interpolation='bilinear'),
    dict(type='LoadForegroundMask'),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
                    'flip_direction', 'reduce_zero_label', 'dataset_name')),
]
