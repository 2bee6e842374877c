"""FocusSegmentor: EncoderDecoder with the edge-image input, interleaving necks and image-aware heads."""
import inspect
from typing import Dict, List

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix


@MODELS.register_module()
class FocusSegmentor(EncoderDecoder):
    """Encoder-decoder for FOCUS inputs.

    ``inputs`` is B x 6 x H x W (normalised RGB image, then the normalised edge-blended image, both from
    ``FocusDataPreProcessor``) or B x 3 x H x W (no edge input). A neck with ``drives_backbone = True``
    (e.g. ``EdgeEnhancerNeck``) runs the backbone itself: ``neck(backbone, img, edge)``; otherwise the usual
    ``neck(backbone(img))`` (or ``backbone(img)`` without neck) applies, so any mmseg backbone works.

    For training, the head's ``loss`` additionally receives ``images=``, the un-normalised RGB image in
    [0, 1] (recovered from the data preprocessor's mean/std), when its signature accepts it (the CLIP
    refiner needs it); heads without that argument (e.g. mmseg's UPerHead) are called as usual.
    Arguments are those of ``EncoderDecoder``.
    """

    def extract_feat(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Backbone (+ neck) features: 4 maps (strides 4..32), plus a token map when the neck gives one."""
        img, edge = self._split_inputs(inputs)
        if self.with_neck and getattr(self.neck, 'drives_backbone', False):
            return list(self.neck(self.backbone, img, edge))
        feats = self.backbone(img)
        if self.with_neck:
            feats = self.neck(feats)
        return list(feats)

    @staticmethod
    def _split_inputs(inputs: torch.Tensor):
        if inputs.dim() != 4 or inputs.shape[1] not in (3, 6):
            raise ValueError(f'FocusSegmentor expects inputs B x 3 x H x W (image) or B x 6 x H x W (image + '
                             f'edge-blended image), got {tuple(inputs.shape)}; add the EdgePrior '
                             f'transform to the pipeline for the edge input, or feed plain RGB images.')
        edge = inputs[:, 3:6] if inputs.shape[1] == 6 else None
        return inputs[:, :3], edge

    def loss(self, inputs: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        """Losses of the decode head (with ``images=`` when it takes them) and of the auxiliary heads."""
        feats = self.extract_feat(inputs)
        losses = dict()
        kwargs = {}
        if _accepts_images(self.decode_head.loss):
            kwargs['images'] = self.unnormalized_images(inputs)
        loss_decode = self.decode_head.loss(feats, data_samples, self.train_cfg, **kwargs)
        losses.update(add_prefix(loss_decode, 'decode'))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(feats, data_samples))
        return losses

    def unnormalized_images(self, inputs: torch.Tensor) -> torch.Tensor:
        """RGB image in [0, 1] (B x 3 x H x W) from the normalised ``inputs[:, :3]``.

        Uses the data preprocessor's ``mean``/``std`` (first three channels) when it normalises; swaps the
        channels when it did not convert BGR to RGB.
        """
        img = inputs[:, :3].detach().float()
        preprocessor = self.data_preprocessor
        if getattr(preprocessor, '_enable_normalize', False):
            mean = preprocessor.mean.flatten()[:3].view(1, 3, 1, 1).to(img)
            std = preprocessor.std.flatten()[:3].view(1, 3, 1, 1).to(img)
            img = img * std + mean
        if not getattr(preprocessor, 'channel_conversion', True):
            img = img.flip(1)  # still BGR as loaded by OpenCV
        return (img / 255.0).clamp(0.0, 1.0)


def _accepts_images(method) -> bool:
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return 'images' in params or any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
