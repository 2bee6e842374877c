"""SegFormer's all-MLP head with FOCUS's CLIP refiner loss on its binary (one-channel) output."""
from typing import Dict, List, Optional, Sequence

import torch
from mmseg.models.decode_heads import SegformerHead
from mmseg.registry import MODELS


@MODELS.register_module()
class CLIPRefinedSegformerHead(SegformerHead):
    """``SegformerHead`` for binary foreground segmentation plus ``CLIPRefinerLoss``.

    The head keeps mmseg's binary convention (``num_classes=2``, ``out_channels=1``, a sigmoid
    ``loss_decode`` and ``threshold``); its single logit map is the foreground mask given to the CLIP
    refiner, whose background mask is then ``1 - sigmoid(logit)`` (``bg_mask_logits=None``). The
    un-normalised images that the refiner needs come from ``FocusSegmentor``, which passes ``images=``
    to heads whose ``loss`` accepts it. The refiner runs in training only; inference is SegFormer's.

    Args:
        loss_clip (dict, optional): Config of ``CLIPRefinerLoss``; None gives plain ``SegformerHead``
            behaviour.
        **kwargs: ``SegformerHead`` / ``BaseDecodeHead`` arguments; ``out_channels`` must be 1.
    """

    def __init__(self, loss_clip: Optional[dict] = None, **kwargs):
        kwargs.setdefault('num_classes', 2)
        kwargs.setdefault('out_channels', 1)
        kwargs.setdefault('threshold', 0.5)
        if kwargs['out_channels'] != 1:
            raise ValueError(f"CLIPRefinedSegformerHead: the CLIP refiner needs one foreground logit map, "
                             f"so out_channels must be 1 (with num_classes=2 and a sigmoid loss_decode), "
                             f"got out_channels={kwargs['out_channels']}")
        super().__init__(**kwargs)
        self.loss_clip = MODELS.build(loss_clip) if loss_clip is not None else None

    def loss(self, inputs: Sequence[torch.Tensor], batch_data_samples: List, train_cfg: dict,
             images: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """SegFormer's decode losses, plus the CLIP refiner loss when configured.

        Args:
            inputs (Sequence[Tensor]): The backbone's 4 maps (strides 4..32).
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg`` (0 bg, 1 fg, 255 ignore).
            train_cfg (dict): mmseg's training config (unused).
            images (Tensor, optional): B x 3 x H x W un-normalised RGB in [0, 1] (``FocusSegmentor``
                passes it); required when ``loss_clip`` is set.

        Returns:
            dict[str, Tensor]: ``loss_ce`` (or the ``loss_decode`` names), ``acc_seg`` and ``loss_clip``.
        """
        seg_logits = self.forward(inputs)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        if self.loss_clip is not None:
            if images is None:
                raise ValueError('CLIPRefinedSegformerHead: loss_clip needs the un-normalised images; use '
                                 "model type='FocusSegmentor' (it passes images=) or set loss_clip=None.")
            losses[self.loss_clip.loss_name] = self.loss_clip(seg_logits, None, images)
        return losses
