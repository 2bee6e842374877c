"""Edge prior of FOCUS: the Canny edge map blended onto the image, computed from raw uint8 pixels."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

from ..image_io import uint16_to_uint8


def to_uint8_bgr(img: np.ndarray) -> np.ndarray:
    """Bring an image to ``H x W x 3`` uint8 BGR, or refuse it with a message naming the format.

    Rules: gray (``H x W`` or ``H x W x 1``) is replicated to 3 channels; BGRA drops its alpha
    channel (no compositing); 16-bit (uint16) is rescaled by ``round(v * 255 / 65535)``
    (:func:`focus_mm.datasets.image_io.uint16_to_uint8`, the rule of the image and mask readers).
    Any other dtype or channel count is refused.

    Args:
        img (np.ndarray): The image as loaded (mmcv/cv2 order: BGR).

    Returns:
        np.ndarray: ``H x W x 3`` uint8 BGR (the input itself when it already is).
    """
    if not isinstance(img, np.ndarray):
        raise TypeError(f'EdgePrior expects a numpy image (H x W x 3 uint8 BGR), got {type(img).__name__}')
    if img.dtype == np.uint16:
        img = uint16_to_uint8(img)
    elif img.dtype != np.uint8:
        raise TypeError(
            f'EdgePrior expects uint8 (or 16-bit) pixels, got {img.dtype} with shape {img.shape}: Canny '
            'thresholds 100/200 are defined on 0..255. Put EdgePrior before any transform that turns the '
            'image into floats (normalisation happens later, in FocusDataPreProcessor).')
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        return cv2.cvtColor(np.ascontiguousarray(img.reshape(img.shape[:2])), cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    six = img.ndim == 3 and img.shape[2] == 6
    hint = ' (it already holds the edge prior: EdgePrior applied twice?)' if six else ''
    raise ValueError(f'EdgePrior expects an H x W x 3 BGR image (gray and BGRA are converted), got shape '
                     f'{img.shape}{hint}')


@TRANSFORMS.register_module()
class EdgePrior(BaseTransform):
    """Append the edge-blended image to ``img`` (FOCUS edge enhancer input).

    From the uint8 BGR image: grayscale, Gaussian blur (5x5, sigma 1.4), Canny (100, 200), then
    ``blend = 0.7 * image + 0.3 * edges`` (edges broadcast to 3 channels, ``cv2.addWeighted``
    rounding). Run it after the geometric/photometric augmentations, just before ``PackSegInputs``.

    Required keys: ``img``. Modified keys: ``img`` becomes ``H x W x 6`` uint8: channels 0..2 the image
    (converted to BGR uint8 if it was gray, BGRA or 16-bit, see :func:`to_uint8_bgr`), channels 3..5
    the edge-blended image, both BGR.

    Args:
        kernel_size (int): Gaussian kernel size. Defaults to 5.
        sigma (float): Gaussian sigma. Defaults to 1.4.
        low_threshold (int): Canny low threshold. Defaults to 100.
        high_threshold (int): Canny high threshold. Defaults to 200.
        image_weight (float): Weight of the image in the blend. Defaults to 0.7.
        edge_weight (float): Weight of the edges in the blend. Defaults to 0.3.
    """

    def __init__(self, kernel_size: int = 5, sigma: float = 1.4, low_threshold: int = 100,
                 high_threshold: int = 200, image_weight: float = 0.7, edge_weight: float = 0.3):
        self.kernel_size = kernel_size
        self.sigma = sigma
        self.low_threshold = low_threshold
        self.high_threshold = high_threshold
        self.image_weight = image_weight
        self.edge_weight = edge_weight

    def edge_map(self, img: np.ndarray) -> np.ndarray:
        """Canny edges (0 / 255, ``H x W`` uint8) of a ``H x W x 3`` uint8 BGR image."""
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        gray = cv2.GaussianBlur(gray, (self.kernel_size, self.kernel_size), self.sigma)
        return cv2.Canny(gray, self.low_threshold, self.high_threshold)

    def transform(self, results: dict) -> dict:
        """Replace ``results['img']`` by the 6-channel image + edge-prior array."""
        if 'img' not in results:
            raise KeyError('EdgePrior needs results["img"]: load the image (LoadImageFromFile) first')
        img = np.ascontiguousarray(to_uint8_bgr(results['img']))
        edges = cv2.cvtColor(self.edge_map(img), cv2.COLOR_GRAY2BGR)
        blend = cv2.addWeighted(img, self.image_weight, edges, self.edge_weight, 0)
        results['img'] = np.concatenate((img, blend), axis=2)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(kernel_size={self.kernel_size}, sigma={self.sigma}, '
                f'low_threshold={self.low_threshold}, high_threshold={self.high_threshold}, '
                f'image_weight={self.image_weight}, edge_weight={self.edge_weight})')
