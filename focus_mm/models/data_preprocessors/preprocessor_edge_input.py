"""The edge-blended image exactly as the authors' code computes it (for their converted checkpoints).

Their edge branch was trained on this input, so their converted edge weights need it. It differs from
our ``EdgePrior`` transform (grayscale Canny of the raw uint8 image, blended onto the image, RGB,
ImageNet-normalised) in five ways, all reproduced here on purpose:

1. it starts from the *normalised* image (``(x - mean) / std``, padding included) multiplied by 255:
   ``uint8(clamp(x * 255 + 0.5, 0, 255))`` (truncated), so every pixel darker than the ImageNet mean
   becomes 0 and every pixel brighter than ``mean + std`` becomes 255 (a contrast-stretched,
   mostly saturated image; the zero padding becomes 0);
2. it converts that RGB array to BGR;
3. it blurs the 3-channel image (5 x 5, sigma 1.4) and runs Canny (100, 200) on each channel separately;
4. it blends the *blurred* image with the per-channel edges, ``addWeighted(0.7, 0.3)`` (uint8 rounding);
5. the result, still BGR, is divided by 255 (values in [0, 1], no ImageNet normalisation).

It is computed per image with OpenCV on the CPU, after normalisation and padding, which is why it
lives in the data preprocessor (``FocusDataPreProcessor(edge_input='preprocessor')``) and not in the
pipeline: the padded border takes part in the blur and the edges.
"""
import cv2
import numpy as np
import torch

# Their constants (focus/modeling/backbone/dinov2.py, ``_inject_edges``), the same as EdgePrior's defaults.
KERNEL_SIZE, SIGMA = 5, 1.4
CANNY_LOW, CANNY_HIGH = 100, 200
IMAGE_WEIGHT, EDGE_WEIGHT = 0.7, 0.3


def per_channel_canny_blend(rgb: np.ndarray) -> np.ndarray:
    """Blend of one image as uint8 BGR (steps 2-4 of the module docstring).

    Args:
        rgb (np.ndarray): ``H x W x 3`` uint8, RGB (step 1 already applied).

    Returns:
        np.ndarray: ``H x W x 3`` uint8, BGR: ``0.7 * blurred + 0.3 * per-channel Canny``.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'per_channel_canny_blend expects an H x W x 3 uint8 RGB array, got {rgb.dtype} '
                         f'{rgb.shape}')
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    blurred = cv2.GaussianBlur(bgr, (KERNEL_SIZE, KERNEL_SIZE), SIGMA)
    edges = np.stack([cv2.Canny(np.ascontiguousarray(blurred[..., c]), CANNY_LOW, CANNY_HIGH)
                      for c in range(3)], axis=-1)
    return cv2.addWeighted(blurred, IMAGE_WEIGHT, edges, EDGE_WEIGHT, 0)


def preprocessor_edge_input(images: torch.Tensor) -> torch.Tensor:
    """The authors' edge input of a normalised, padded batch (all five steps of the module docstring).

    Args:
        images (Tensor): ``B x 3 x H x W`` normalised RGB images (``(x - mean) / std``), padded.

    Returns:
        Tensor: ``B x 3 x H x W`` BGR blend in [0, 1], dtype and device of ``images``.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f'preprocessor_edge_input expects B x 3 x H x W normalised RGB images, got '
                         f'{tuple(images.shape)}')
    # float32 arithmetic and truncation to uint8, as their ``mul(255).add_(0.5).clamp_(0, 255)``
    pixels = images.detach().float().mul(255).add(0.5).clamp(0, 255).to('cpu', torch.uint8)
    blends = [torch.from_numpy(per_channel_canny_blend(img.permute(1, 2, 0).numpy())).permute(2, 0, 1)
              for img in pixels]
    # their ``blend / 255.0`` is float64 before the batch tensor casts it
    scaled = torch.stack(blends).to(torch.float64) / 255.0
    return scaled.to(device=images.device, dtype=images.dtype)
