"""mmseg's mask match costs with a weight per point, so that ignored pixels do not count.

The ground-query head samples the same random points of the predictions, the targets and the map of
labelled pixels (1 = labelled, 0 = ``ignore_index``, e.g. the padding of a crop; fractional where a
point falls between the two). mmseg's ``CrossEntropyLossCost`` and ``DiceCost`` count every point; these
read the sampled map from ``gt_instances.point_weights`` (num_gt x num_points) and weigh the points by it.
Without ``point_weights`` they are mmseg's costs.
"""
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmseg.models.assigners.match_cost import CrossEntropyLossCost, DiceCost
from mmseg.registry import TASK_UTILS
from torch import Tensor


def _point_weights(gt_instances: InstanceData, gt_masks: Tensor) -> Tensor:
    weights = gt_instances.point_weights.flatten(1).float()
    if weights.shape != gt_masks.shape:
        raise ValueError(f'point_weights {tuple(weights.shape)} must have the shape of the sampled target '
                         f'masks {tuple(gt_masks.shape)} (num_gt x num_points)')
    return weights


@TASK_UTILS.register_module()
class WeightedCrossEntropyLossCost(CrossEntropyLossCost):
    """Binary cross-entropy mask cost averaged over the weighted points.

    ``cost[q, t] = sum_p w[t, p] * BCE(pred[q, p], gt[t, p]) / max(sum_p w[t, p], 1)``.

    Args:
        use_sigmoid (bool): Must be True (mmseg's cost has no softmax variant). Defaults to True.
        weight (float): Cost weight. Defaults to 1.
    """

    def __call__(self, pred_instances: InstanceData, gt_instances: InstanceData, **kwargs) -> Tensor:
        """Cost matrix (num_preds x num_gts) of point logits ``pred_instances.masks`` against the
        sampled 0/1 targets ``gt_instances.masks``, weighted by ``gt_instances.point_weights``."""
        if 'point_weights' not in gt_instances:
            return super().__call__(pred_instances, gt_instances, **kwargs)
        if not self.use_sigmoid:
            raise NotImplementedError('WeightedCrossEntropyLossCost: only use_sigmoid=True is implemented')
        pred = pred_instances.masks.flatten(1).float()
        gt = gt_instances.masks.flatten(1).float()
        weights = _point_weights(gt_instances, gt)
        pos = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred), reduction='none')
        neg = F.binary_cross_entropy_with_logits(pred, torch.zeros_like(pred), reduction='none')
        cost = (torch.einsum('qp,tp->qt', pos, gt * weights) +
                torch.einsum('qp,tp->qt', neg, (1 - gt) * weights))
        return cost / weights.sum(1).clamp_min(1.0)[None] * self.weight


@TASK_UTILS.register_module()
class WeightedDiceCost(DiceCost):
    """Dice mask cost with the predictions and the targets multiplied by the point weights.

    ``cost[q, t] = 1 - (2 sum_p (p w)(g w) + eps) / (sum_p p w + sum_p g w + eps)`` with ``p`` the
    prediction (sigmoid of the logit when ``pred_act``), ``g`` the target and ``w = w[t, p]`` (the
    ``naive_dice=False`` form squares the denominator's terms).

    Args:
        pred_act (bool): Apply a sigmoid to the predictions. Defaults to False.
        eps (float): Smoothing term. Defaults to 1e-3.
        naive_dice (bool): First-power denominator. Defaults to True.
        weight (float): Cost weight. Defaults to 1.
    """

    def __call__(self, pred_instances: InstanceData, gt_instances: InstanceData, **kwargs) -> Tensor:
        """Cost matrix (num_preds x num_gts), weighted by ``gt_instances.point_weights``."""
        if 'point_weights' not in gt_instances:
            return super().__call__(pred_instances, gt_instances, **kwargs)
        pred = pred_instances.masks.flatten(1).float()
        if self.pred_act:
            pred = pred.sigmoid()
        gt = gt_instances.masks.flatten(1).float()
        weights = _point_weights(gt_instances, gt)
        gt = gt * weights
        numerator = 2 * torch.einsum('qp,tp->qt', pred, gt * weights)
        if self.naive_dice:
            denominator = torch.einsum('qp,tp->qt', pred, weights) + gt.sum(1)[None]
        else:
            denominator = torch.einsum('qp,tp->qt', pred.pow(2), weights.pow(2)) + gt.pow(2).sum(1)[None]
        return (1 - (numerator + self.eps) / (denominator + self.eps)) * self.weight
