"""The losses of one prediction set of matched queries, each a registered module built from a config dict.

``GroundQueryHead`` builds them with ``MODELS.build`` (``loss_cls``, ``loss_mask``, ``loss_dice``,
``loss_bbox``, ``loss_giou``), so an ablation swaps a loss or its weight from a config. The defaults are
the weights of FOCUS (and of Mask2Former/DINO before it): class 1 with no-object at 0.1, point BCE 5,
point dice 5, box L1 5, GIoU 2. Every loss returns ``loss_weight * sum / avg_factor`` (``avg_factor``: the
number of target masks over the batch, averaged across processes), except the class loss, a weighted mean.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import nn
from torchvision.ops import box_convert, generalized_box_iou_loss

from .point_losses import point_bce_loss, point_dice_loss


@MODELS.register_module()
class QueryClassLoss(nn.Module):
    """Cross-entropy of the queries' class logits, the no-object class (the last) down-weighted.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 1.
        no_object_weight (float): Class weight of no-object (every other class has 1). Defaults to 0.1.
    """

    def __init__(self, loss_weight: float = 1.0, no_object_weight: float = 0.1):
        super().__init__()
        self.loss_weight = loss_weight
        self.no_object_weight = no_object_weight

    def class_weight(self, num_classes: int, device=None) -> torch.Tensor:
        """Weights of the ``num_classes`` classes: 1, ..., 1, ``no_object_weight``."""
        return torch.tensor([1.0] * (num_classes - 1) + [self.no_object_weight], device=device)

    def forward(self, cls_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Weighted mean cross-entropy (``sum w_i l_i / sum w_i``, as ``F.cross_entropy``).

        Args:
            cls_logits (Tensor): B x Q x K class logits (no-object last).
            labels (Tensor): B x Q class indices (long).

        Returns:
            Tensor: The scalar loss.
        """
        weight = self.class_weight(cls_logits.shape[-1], cls_logits.device)
        return self.loss_weight * F.cross_entropy(cls_logits.transpose(1, 2).float(), labels, weight)


class WeightedPointLoss(nn.Module):
    """A per-mask loss of mask logits sampled at points, summed over the masks and weighted.

    The shared part of :class:`PointBCELoss` and :class:`PointDiceLoss`, which name their per-mask loss
    in ``per_mask_loss``.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 5.
    """

    def __init__(self, loss_weight: float = 5.0):
        super().__init__()
        self.loss_weight = loss_weight

    @staticmethod
    def per_mask_loss(point_logits: torch.Tensor, point_targets: torch.Tensor,
                      point_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """M losses, one per mask (each subclass names its function)."""
        raise NotImplementedError

    def forward(self, point_logits: torch.Tensor, point_targets: torch.Tensor,
                point_weights: Optional[torch.Tensor] = None, avg_factor: float = 1.0) -> torch.Tensor:
        """Sum over the masks, divided by ``avg_factor``.

        Args:
            point_logits (Tensor): M x P logits at the sampled points.
            point_targets (Tensor): M x P targets in [0, 1].
            point_weights (Tensor, optional): M x P, 0 at ignored pixels.
            avg_factor (float | Tensor): The number of target masks. Defaults to 1.

        Returns:
            Tensor: The scalar loss.
        """
        loss = self.per_mask_loss(point_logits, point_targets, point_weights)
        return self.loss_weight * loss.sum() / avg_factor


@MODELS.register_module()
class PointBCELoss(WeightedPointLoss):
    """Binary cross-entropy of mask logits sampled at points, mean over each mask's labelled points.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 5.
    """

    per_mask_loss = staticmethod(point_bce_loss)


@MODELS.register_module()
class PointDiceLoss(WeightedPointLoss):
    """Dice loss of mask logits sampled at points (ignored points left out), see :func:`point_dice_loss`.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 5.
    """

    per_mask_loss = staticmethod(point_dice_loss)


@MODELS.register_module()
class BoxL1Loss(nn.Module):
    """L1 distance of normalised (cx, cy, w, h) boxes.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 5.
    """

    def __init__(self, loss_weight: float = 5.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, boxes: torch.Tensor, target_boxes: torch.Tensor,
                avg_factor: float = 1.0) -> torch.Tensor:
        """Sum over the boxes and coordinates, divided by ``avg_factor``.

        Args:
            boxes (Tensor): M x 4 predicted boxes, cx/cy/w/h in [0, 1].
            target_boxes (Tensor): M x 4 target boxes, same format.
            avg_factor (float | Tensor): The number of target masks. Defaults to 1.

        Returns:
            Tensor: The scalar loss.
        """
        return self.loss_weight * (boxes - target_boxes).abs().sum() / avg_factor


@MODELS.register_module()
class BoxGIoULoss(nn.Module):
    """Generalised IoU loss of normalised (cx, cy, w, h) boxes.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 2.
    """

    def __init__(self, loss_weight: float = 2.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, boxes: torch.Tensor, target_boxes: torch.Tensor,
                avg_factor: float = 1.0) -> torch.Tensor:
        """Sum over the boxes, divided by ``avg_factor`` (arguments as :meth:`BoxL1Loss.forward`)."""
        loss = generalized_box_iou_loss(box_convert(boxes, 'cxcywh', 'xyxy'),
                                        box_convert(target_boxes, 'cxcywh', 'xyxy'), reduction='sum')
        return self.loss_weight * loss / avg_factor
