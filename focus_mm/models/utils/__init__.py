"""Helpers of the models (not registered): tensor helpers of the head and of the deformable attention."""
from .box_ops import masks_to_boxes_cxcywh
from .level_layout import (cell_centre_reference_points, level_layout, multi_scale_deformable_attn_traceable,
                           size_tensor, split_levels)
from .pca_prior import (image_token_mask, pca_foreground_prior, prior_attention_mask, resize_prior,
                        valid_token_mask)

__all__ = [
    'cell_centre_reference_points', 'image_token_mask', 'level_layout', 'masks_to_boxes_cxcywh',
    'multi_scale_deformable_attn_traceable', 'pca_foreground_prior', 'prior_attention_mask', 'resize_prior',
    'size_tensor', 'split_levels', 'valid_token_mask'
]
