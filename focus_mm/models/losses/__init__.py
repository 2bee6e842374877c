"""Losses of the ground-query head."""
from .clip_refiner_loss import TASK_PROMPTS, CLIPRefinerLoss
from .point_losses import point_bce_loss, point_dice_loss

__all__ = ['TASK_PROMPTS', 'CLIPRefinerLoss', 'point_bce_loss', 'point_dice_loss']
