"""Tensor helpers of the ground-query head (not registered)."""
from .box_ops import cxcywh_to_xyxy, generalized_iou, masks_to_boxes_cxcywh
from .pca_prior import pca_foreground_prior, resize_prior, valid_token_mask
from .point_sample import point_sample, uncertain_point_coords

__all__ = [
    'cxcywh_to_xyxy', 'generalized_iou', 'masks_to_boxes_cxcywh', 'pca_foreground_prior', 'resize_prior',
    'valid_token_mask', 'point_sample', 'uncertain_point_coords'
]
