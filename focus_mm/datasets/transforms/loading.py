"""Loading a sample's image and its binary foreground mask."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..image_io import read_image
from ..mask_io import read_foreground_mask


@TRANSFORMS.register_module()
class LoadForegroundImage(BaseTransform):
    """Load ``img_path`` as ``H x W x 3`` uint8 BGR, a drop-in for mmcv's ``LoadImageFromFile``.

    It decodes with :func:`focus_mm.datasets.image_io.read_image`, the reader that ``FocusInferencer``
    and ``tools/infer.py`` use too, so a test run and an inference run see the same pixels: the EXIF
    orientation applied, GIFs and the first frame of animations read, 16-bit scaled by
    ``round(v * 255 / 65535)``, gray and alpha images brought to 3 channels, and a truncated or
    corrupt file an error that names it (mmcv's OpenCV decoding returns a truncated JPEG's decoded
    part without an error).

    Required Keys:

    - img_path

    Added Keys:

    - img (np.uint8 ``H x W x 3`` BGR, or float32 with ``to_float32``)
    - img_shape
    - ori_shape

    Args:
        to_float32 (bool): return float32 pixels (as ``LoadImageFromFile``). Defaults to False.
        ignore_empty (bool): return None instead of raising for an unreadable file (as
            ``LoadImageFromFile``; the dataset then picks another sample). Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(self, to_float32: bool = False, ignore_empty: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        self.to_float32 = to_float32
        self.ignore_empty = ignore_empty
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> Optional[dict]:
        """Read the image into ``results['img']``.

        Args:
            results (dict): the pipeline's result dict, with ``img_path``.

        Returns:
            dict | None: with ``img``, ``img_shape`` and ``ori_shape`` set; None for an unreadable file
            when ``ignore_empty``.
        """
        try:
            img = read_image(results['img_path'], backend_args=self.backend_args)
        except ValueError:
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, ignore_empty={self.ignore_empty}, '
                f'backend_args={self.backend_args})')


@TRANSFORMS.register_module()
class LoadForegroundMask(BaseTransform):
    """Load ``seg_map_path`` as a 0/1 foreground map into ``gt_seg_map``.

    The mask is binarised by :func:`focus_mm.datasets.mask_io.read_foreground_mask` (8-bit value
    ``> 128``; any bit depth, 0/1 label maps, RGB and coloured, palette and alpha masks handled, a
    mask with values but no foreground refused), so ``gt_seg_map`` holds 0 (background)
    and 1 (foreground); 255 (ignore) only appears later, from padding. The mask must have the size of
    the ORIGINAL image (``ori_shape``), which is checked: in the test pipeline this transform comes
    after ``Resize`` on purpose, so that the ground truth stays at its original size and the metric
    compares predictions there.

    Required Keys:

    - seg_map_path
    - ori_shape (from ``LoadForegroundImage``), img_path (for messages)

    Added Keys:

    - gt_seg_map (np.uint8, H x W, 0/1)
    - seg_fields (``'gt_seg_map'`` appended)

    Args:
        check_size (bool): fail when the mask size differs from the image's. Defaults to True.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(self, check_size: bool = True, backend_args: Optional[dict] = None) -> None:
        self.check_size = check_size
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> dict:
        """Read, binarise and size-check the mask.

        Args:
            results (dict): the pipeline's result dict.

        Returns:
            dict: with ``gt_seg_map`` set.
        """
        path = results.get('seg_map_path')
        if not path:
            raise KeyError(f'LoadForegroundMask: sample {results.get("img_path", "?")!r} has no '
                           '`seg_map_path`; build it with ForegroundDataset (seg_map_path in data_prefix).')
        mask = read_foreground_mask(path, backend_args=self.backend_args)
        if self.check_size and 'ori_shape' in results:
            img_hw = tuple(results['ori_shape'][:2])
            if tuple(mask.shape) != img_hw:
                raise ValueError(
                    f'Mask size {mask.shape[1]}x{mask.shape[0]} (WxH) of {path!r} differs from its '
                    f'image size {img_hw[1]}x{img_hw[0]} of {results.get("img_path", "?")!r}. '
                    'Fix or re-export the mask at the image size (or exclude the pair).')
        results['gt_seg_map'] = mask.astype(np.uint8)
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(check_size={self.check_size}, backend_args={self.backend_args})'
