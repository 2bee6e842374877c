"""Draw a predicted mask over its image (tools/infer.py, the demos)."""
import cv2
import numpy as np


def overlay_mask(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5, rows: int = 256) -> np.ndarray:
    """Tint the foreground of a BGR image red and draw its outline in yellow.

    The tint is applied in strips of ``rows`` rows, so a large photo needs only small temporaries
    besides the copy that is returned.

    Args:
        image (np.ndarray): ``H x W x 3`` uint8 BGR.
        mask (np.ndarray): ``H x W`` uint8, nonzero = foreground.
        alpha (float): Opacity of the tint. Defaults to 0.5.
        rows (int): Rows per strip. Defaults to 256.

    Returns:
        np.ndarray: ``H x W x 3`` uint8 BGR, a new array.
    """
    tinted = image.copy()
    red = np.array([0, 0, 255], np.float32) * np.float32(alpha)
    for top in range(0, image.shape[0], rows):
        fg = mask[top:top + rows].astype(bool)
        strip = tinted[top:top + rows]
        strip[fg] = (strip[fg].astype(np.float32) * np.float32(1 - alpha) + red).astype(np.uint8)
    binary = mask if mask.dtype == np.uint8 else mask.astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(tinted, contours, -1, (0, 255, 255), 1)
    return tinted
