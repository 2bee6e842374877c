"""Helpers of the models (not registered): tensor helpers of the head and of the deformable attention."""
from .box_ops import masks_to_boxes_cxcywh
from .level_layout import cell_centre_reference_points, level_layout
from .pca_prior import (image_token_mask, pca_foreground_prior, prior_attention_mask, resize_prior,
                        valid_token_mask)

__all__ = [
    'cell_centre_reference_points', 'image_token_mask', 'level_layout', 'masks_to_boxes_cxcywh',
    'pca_foreground_prior', 'prior_attention_mask', 'resize_prior', 'valid_token_mask'
]
