"""Hungarian matching of the ground queries to the foreground / background targets of one image."""
from typing import Tuple

import torch
from mmseg.registry import TASK_UTILS
from mmcv.ops import point_sample
from scipy.optimize import linear_sum_assignment

from .point_losses import pairwise_point_bce, pairwise_point_dice


@TASK_UTILS.register_module()
class GroundQueryMatcher:
    """Minimum-cost one-to-one assignment of queries to targets (Mask2Former costs).

    Cost = ``cost_class * (-p(label)) + cost_mask * BCE + cost_dice * dice``, with the mask terms
    computed on ``num_points`` uniformly random points shared by all predictions and targets of the
    image; ignored pixels (weight 0) do not count.

    Args:
        cost_class (float): Weight of the class cost. Defaults to 1.
        cost_mask (float): Weight of the point BCE cost. Defaults to 5.
        cost_dice (float): Weight of the point dice cost. Defaults to 5.
        num_points (int): Random points per image. Defaults to 12544.
    """

    def __init__(self, cost_class: float = 1.0, cost_mask: float = 5.0, cost_dice: float = 5.0,
                 num_points: int = 12544):
        self.cost_class = cost_class
        self.cost_mask = cost_mask
        self.cost_dice = cost_dice
        self.num_points = num_points

    @torch.no_grad()
    def __call__(self, cls_logits: torch.Tensor, mask_logits: torch.Tensor, labels: torch.Tensor,
                 masks: torch.Tensor, valid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Match the queries of one image.

        Args:
            cls_logits (Tensor): Q x K class logits (K includes no-object).
            mask_logits (Tensor): Q x h x w mask logits.
            labels (Tensor): T target labels (long).
            masks (Tensor): T x H x W float 0/1 target masks.
            valid (Tensor): H x W float, 1 where the pixel is labelled, 0 where ignored.

        Returns:
            tuple[Tensor, Tensor]: matched query indices and target indices (long, same length).
        """
        device = mask_logits.device
        if labels.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty
        coords = torch.rand(1, self.num_points, 2, device=device)
        pred = point_sample(mask_logits[None].float(), coords)[0]
        tgt = point_sample(masks[None].float(), coords)[0]
        weights = point_sample(valid[None, None].float(), coords)[0, 0]
        cost = (-self.cost_class * cls_logits.float().softmax(-1)[:, labels] +
                self.cost_mask * pairwise_point_bce(pred, tgt, weights) +
                self.cost_dice * pairwise_point_dice(pred, tgt, weights))
        query_idx, target_idx = linear_sum_assignment(cost.cpu().numpy())
        return (torch.as_tensor(query_idx, dtype=torch.long, device=device),
                torch.as_tensor(target_idx, dtype=torch.long, device=device))
