"""Data pre-processor for the 6-channel (image + edge prior) input of FOCUS."""
from numbers import Number
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.utils import stack_batch

from .preprocessor_edge_input import preprocessor_edge_input

EDGE_INPUTS = ('pipeline', 'preprocessor')


@MODELS.register_module()
class FocusDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` for inputs made of one or two 3-channel halves.

    The ``EdgePrior`` transform packs ``6 x H x W`` uint8 inputs: channels 0..2 the image and 3..5 the
    edge-blended image, both BGR. Each half is converted to RGB (``bgr_to_rgb=True``) and normalised
    with the same 3-value ``mean``/``std``. Plain ``3 x H x W`` inputs are handled as usual.

    Edge input (``edge_input``): ``'pipeline'`` (ours, the default) takes the edge-blended image from the
    ``EdgePrior`` transform (channels 3..5) and normalises it like the image. ``'preprocessor'`` computes
    the authors' edge input here instead, from the normalised and padded image, as their model does
    (:mod:`~focus_mm.models.data_preprocessors.preprocessor_edge_input`: per-channel Canny of the
    normalised image x 255, BGR, in [0, 1], not normalised); the pipeline must then give 3-channel images (no
    ``EdgePrior``), and the output is ``B x 6 x H x W`` as usual. Use it only with the authors'
    converted checkpoints (``configs/focus/converted_checkpoints/``).

    Padding: in training, to ``size`` or a multiple of ``size_divisor`` (image ``pad_val``, mask
    ``seg_pad_val``), as mmseg does. In testing, to ``test_cfg['size'/'size_divisor']`` if given, else
    to a multiple of ``size_divisor``; the padding is recorded as ``img_padding_size`` in each sample's
    metainfo so that ``postprocess_result`` crops it before resizing to the original shape. A test
    batch may hold images of different sizes (they are padded to the largest).

    Args:
        mean (Sequence[Number]): 3 per-channel means (RGB order when ``bgr_to_rgb``).
        std (Sequence[Number]): 3 per-channel standard deviations.
        size (tuple, optional): Fixed training pad size.
        size_divisor (int, optional): Pad to a multiple of it. Defaults to 32.
        pad_val (Number): Image padding value. Defaults to 0.
        seg_pad_val (Number): Mask padding value. Defaults to 255.
        bgr_to_rgb (bool): Flip each 3-channel half from BGR to RGB. Defaults to True.
        rgb_to_bgr (bool): Flip each half the other way. Defaults to False.
        batch_augments (list[dict], optional): As in mmseg.
        test_cfg (dict, optional): ``size`` / ``size_divisor`` used at test time.
        edge_input (str): ``'pipeline'`` or ``'preprocessor'`` (see above). Defaults to ``'pipeline'``.
    """

    def __init__(self,
                 mean: Sequence[Number] = (123.675, 116.28, 103.53),
                 std: Sequence[Number] = (58.395, 57.12, 57.375),
                 size: Optional[tuple] = None,
                 size_divisor: Optional[int] = 32,
                 pad_val: Number = 0,
                 seg_pad_val: Number = 255,
                 bgr_to_rgb: bool = True,
                 rgb_to_bgr: bool = False,
                 batch_augments: Optional[List[dict]] = None,
                 test_cfg: Optional[dict] = None,
                 edge_input: str = 'pipeline'):
        if edge_input not in EDGE_INPUTS:
            raise ValueError(f'FocusDataPreProcessor: edge_input must be one of {EDGE_INPUTS}, '
                             f'got {edge_input!r}')
        if mean is None or std is None or len(mean) != 3 or len(std) != 3:
            raise ValueError(f'FocusDataPreProcessor needs 3-value mean and std (applied to both halves of a '
                             f'6-channel input), got mean={mean}, std={std}')
        super().__init__(mean=mean, std=std, size=size, size_divisor=size_divisor, pad_val=pad_val,
                         seg_pad_val=seg_pad_val, bgr_to_rgb=bgr_to_rgb, rgb_to_bgr=rgb_to_bgr,
                         batch_augments=batch_augments, test_cfg=test_cfg)
        self.edge_input = edge_input

    def _normalise(self, img: torch.Tensor) -> torch.Tensor:
        if img.dim() != 3 or img.shape[0] not in (3, 6):
            raise ValueError(
                f'FocusDataPreProcessor expects C x H x W inputs with 3 channels (BGR image) or 6 channels '
                f'(image + edge prior from the EdgePrior transform), got {tuple(img.shape)}. Convert gray or '
                'BGRA images to BGR in the pipeline (EdgePrior does so) before PackSegInputs.')
        if self.edge_input == 'preprocessor' and img.shape[0] != 3:
            raise ValueError(
                'FocusDataPreProcessor(edge_input="preprocessor") computes the authors\' edge input itself, '
                f'from the normalised image, but received {img.shape[0]}-channel inputs: remove EdgePrior '
                'from the pipeline (configs/_base_/converted_checkpoint_eval.py has the pipelines without '
                'it), or use edge_input="pipeline".')
        halves = list(img.float().split(3, dim=0))
        if self.channel_conversion:
            halves = [h[[2, 1, 0]] for h in halves]
        return torch.cat([(h - self.mean) / self.std for h in halves], dim=0)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Flip/normalise each half, pad and stack.

        Args:
            data (dict): ``inputs`` (list of ``C x H x W`` tensors) and ``data_samples`` from the loader.
            training (bool): Training-mode padding and batch augments.

        Returns:
            dict: ``inputs`` ``B x C x H' x W'`` float and ``data_samples``.
        """
        data = self.cast_data(data)
        inputs = [self._normalise(img) for img in data['inputs']]
        if len({img.shape[0] for img in inputs}) > 1:
            raise ValueError('FocusDataPreProcessor: a batch mixes 3- and 6-channel inputs; use the same '
                             'pipeline (with or without EdgePrior) for every sample')
        data_samples = data.get('data_samples', None)
        if training:
            if data_samples is None:
                raise ValueError('FocusDataPreProcessor: data_samples are required in training')
            inputs, data_samples = stack_batch(inputs=inputs, data_samples=data_samples, size=self.size,
                                               size_divisor=self.size_divisor, pad_val=self.pad_val,
                                               seg_pad_val=self.seg_pad_val)
            if self.batch_augments is not None:
                inputs, data_samples = self.batch_augments(inputs, data_samples)
            return dict(inputs=self._with_edge_input(inputs), data_samples=data_samples)

        if self.test_cfg:
            size, size_divisor = self.test_cfg.get('size', None), self.test_cfg.get('size_divisor', None)
        else:
            size, size_divisor = None, self.size_divisor
        if size is None and size_divisor is None and len({img.shape for img in inputs}) == 1:
            return dict(inputs=self._with_edge_input(torch.stack(inputs)), data_samples=data_samples)
        # Pad the images only (test masks keep their original size) and record the padding.
        inputs, pad_infos = stack_batch(inputs=inputs, size=size, size_divisor=size_divisor,
                                        pad_val=self.pad_val, seg_pad_val=self.seg_pad_val)
        if data_samples is not None:
            for sample, info in zip(data_samples, pad_infos):
                sample.set_metainfo(info)
        return dict(inputs=self._with_edge_input(inputs), data_samples=data_samples)

    def _with_edge_input(self, inputs: torch.Tensor) -> torch.Tensor:
        """Append the authors' edge input to the normalised, padded batch (``edge_input='preprocessor'``)."""
        if self.edge_input != 'preprocessor':
            return inputs
        return torch.cat((inputs, preprocessor_edge_input(inputs)), dim=1)
