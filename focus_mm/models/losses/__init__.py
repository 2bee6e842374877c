"""Losses of the ground-query head."""
from .clip_refiner_loss import TASK_PROMPTS, CLIPRefinerLoss
from .point_losses import point_bce_loss, point_dice_loss
from .set_losses import BoxGIoULoss, BoxL1Loss, PointBCELoss, PointDiceLoss, QueryClassLoss

__all__ = [
    'TASK_PROMPTS', 'BoxGIoULoss', 'BoxL1Loss', 'CLIPRefinerLoss', 'PointBCELoss', 'PointDiceLoss',
    'QueryClassLoss', 'point_bce_loss', 'point_dice_loss'
]
