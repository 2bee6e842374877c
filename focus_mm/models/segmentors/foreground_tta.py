"""Test-time augmentation for one-channel foreground models."""
from typing import List

import torch
from mmengine.structures import PixelData

from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList


@MODELS.register_module()
class ForegroundTTAModel(SegTTAModel):
    """Average the foreground probability over augmented views (e.g. flips), then threshold it.

    mmseg's ``SegTTAModel`` cannot be used for a one-channel model: it applies a sigmoid to
    ``seg_logits``, which ``postprocess_result`` has already turned into a probability, and it keeps
    the last view's ``seg_logits`` instead of the average, so metrics reading the probability map
    would see one flipped view.
    """

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Merge the views of each image.

        Args:
            data_samples_list (list[list[SegDataSample]]): per image, its views' predictions (each at the
                original size, already un-flipped by ``postprocess_result``).

        Returns:
            list[SegDataSample]: one per image: ``seg_logits`` the mean probability, ``pred_sem_seg``
            its thresholded decision.
        """
        threshold = getattr(self.module.decode_head, 'threshold', 0.5)
        merged = []
        for views in data_samples_list:
            probs = torch.stack([view.seg_logits.data.float() for view in views]).mean(dim=0)
            if probs.shape[0] != 1:
                raise ValueError('ForegroundTTAModel expects 1-channel probabilities, '
                                 f'got {tuple(probs.shape)}')
            sample = views[0].clone()
            sample.seg_logits = PixelData(data=probs)
            sample.pred_sem_seg = PixelData(data=(probs > threshold).long())
            merged.append(sample)
        return merged
