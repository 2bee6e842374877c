"""One image's result at its original size: :class:`ForegroundPrediction` from a model's output.

The last step of :class:`~focus_mm.apis.FocusInferencer` (its ``postprocess``), kept apart from the
reading and batching of inputs: the small logit map of one image is cropped, un-flipped and brought to
the image's original size as mmseg's ``postprocess_result`` does it, with less memory.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

# The metainfo key that carries an input's name (its path, or '<array i>') through the model.
SOURCE_KEY = 'source'


class NonFiniteOutputError(ValueError):
    """The model gave NaN or infinite values for an image (its ``source`` is in the message)."""

    def __init__(self, source: str, count: int):
        super().__init__(f'the model output holds {count} non-finite value(s) for {source}: no mask is '
                         'written. The checkpoint or the model has NaN/inf weights (check its training '
                         'log), or the input is broken.')
        self.source = source
        self.count = count


@dataclass
class ForegroundPrediction:
    """One image's result, at the image's original size.

    Attributes:
        mask (np.ndarray): ``H x W`` uint8, 1 = foreground (the joint decision P_fg > P_bg).
        prob (np.ndarray): ``H x W`` float32 foreground probability in [0, 1].
        source (str): The file path, or ``'<array i>'`` for arrays.
        overlay (np.ndarray, optional): ``H x W x 3`` uint8 BGR image with the foreground tinted, when
            the call asked for it (``return_vis=True``).
    """
    mask: np.ndarray
    prob: np.ndarray
    source: str
    overlay: Optional[np.ndarray] = None


@torch.no_grad()
def full_size_prediction(logits: torch.Tensor,
                         meta: dict,
                         align_corners: bool = False,
                         threshold: Optional[float] = None) -> ForegroundPrediction:
    """One image's 1 x C x h x w logits to its original size: mmseg's ``postprocess_result``, lean.

    Same steps and the same operations (padding cropped, flip undone, ``F.interpolate`` bilinear on
    the logits, sigmoid, ``> threshold``), so the maps equal ``tools/test.py``'s, but the sigmoid
    runs in place and the mask is a uint8 view: 5 bytes per pixel instead of three float maps.

    Args:
        logits (Tensor): ``1 x 1 x h x w`` foreground logits at the model's input size.
        meta (dict): The image's metainfo (``ori_shape``, padding, flip, ``source``).
        align_corners (bool): The model's ``align_corners``. Defaults to False.
        threshold (float, optional): The decode head's threshold; None gives 0.5.

    Returns:
        ForegroundPrediction: The mask and probability at ``meta['ori_shape']``.

    Raises:
        NonFiniteOutputError: The logits hold NaN or infinite values.
    """
    source = meta.get(SOURCE_KEY, '<array>')
    if logits.shape[1] != 1:
        raise ValueError('the model does not output a foreground probability (out_channels=1).')
    padding = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
    pad_left, pad_right, pad_top, pad_bottom = padding
    height, width = logits.shape[-2:]
    logits = logits[:, :, pad_top:height - pad_bottom, pad_left:width - pad_right]
    if meta.get('flip', False):
        logits = logits.flip(dims=(3, ) if meta.get('flip_direction') == 'horizontal' else (2, ))
    finite = torch.isfinite(logits)
    if not bool(finite.all()):  # checked on the small map: cheap, and before any upsampling
        raise NonFiniteOutputError(source, int((~finite).sum()))
    full = F.interpolate(logits.float(), size=tuple(meta['ori_shape'][:2]), mode='bilinear',
                         align_corners=align_corners)[0, 0].cpu()
    prob = full.sigmoid_().numpy()
    mask = np.greater(prob, 0.5 if threshold is None else threshold).view(np.uint8)
    return ForegroundPrediction(mask=mask, prob=prob, source=source)


def prediction_from_sample(sample) -> ForegroundPrediction:
    """A full-size ``SegDataSample`` (the model's own post-processing) as a :class:`ForegroundPrediction`.

    Args:
        sample (SegDataSample): With ``seg_logits`` holding the foreground probability and
            ``pred_sem_seg`` the mask.

    Returns:
        ForegroundPrediction: Its mask and probability.

    Raises:
        NonFiniteOutputError: The probability holds NaN or infinite values.
    """
    source = sample.metainfo.get(SOURCE_KEY, '<array>')
    prob = sample.seg_logits.data[0].float().cpu().numpy()
    if not np.isfinite(prob).all():
        raise NonFiniteOutputError(source, int((~np.isfinite(prob)).sum()))
    if prob.min() < 0 or prob.max() > 1:  # a 2-channel model's logits: not a probability
        raise ValueError('the model does not output a foreground probability (out_channels=1).')
    mask = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    return ForegroundPrediction(mask=mask, prob=prob.astype(np.float32, copy=False), source=source)
