"""Reading images: the one decoder of the datasets' pipelines, ``FocusInferencer`` and ``tools/infer.py``.

:func:`decode_image` turns a file's bytes into ``H x W x 3`` uint8 BGR (OpenCV's order, what mmcv's
``LoadImageFromFile`` gives), by these rules:

- the EXIF orientation is applied (the pixels are those a photo viewer shows);
- the first frame of an animated file (GIF, APNG, WebP) is used; GIFs are read like any other image;
- gray is replicated to three channels; palettes, CMYK and YCbCr are converted to RGB; an alpha
  channel is dropped (no compositing);
- 16-bit values are scaled by ``round(v * 255 / 65535)`` (:func:`uint16_to_uint8`);
- a truncated or corrupt file is an error naming the file (OpenCV and Pillow's lenient mode would
  return the decoded part with grey or black rows and no error).

``LoadForegroundImage`` (the pipelines' loader, in ``datasets/transforms/loading.py``) and
``FocusInferencer``/``tools/infer.py`` both call it, so a test run and an inference run see the same
pixels of the same file.
"""
import io
import os
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps

#: file endings that ``tools/infer.py`` collects from a folder (lower case; matched case-insensitively).
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif')


def list_images(folder: str) -> list:
    """The image files of ``folder`` (suffixes in :data:`IMAGE_SUFFIXES`, any case), sorted, with the path.

    Args:
        folder (str): The folder (not searched recursively).

    Returns:
        list[str]: ``folder/name`` for each image file.
    """
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.lower().endswith(IMAGE_SUFFIXES))


def uint16_to_uint8(values: np.ndarray) -> np.ndarray:
    """16-bit values to 8-bit: ``round(v * 255 / 65535)``, exact, in integer arithmetic.

    Since 65535 = 255 x 257, ``v * 255 / 65535 = v / 257`` and ``round(v / 257) = (v + 128) // 257``
    (no value of ``v`` falls on a tie). The one conversion of the mask reader, the image reader and
    ``EdgePrior``.

    Args:
        values (np.ndarray): unsigned integers in 0..65535 (any shape).

    Returns:
        np.ndarray: uint8 of the same shape.
    """
    return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _pil_to_bgr(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I'):
        arr = np.asarray(img)
        if arr.min(initial=0) < 0 or arr.max(initial=0) > 65535:
            raise ValueError(f'{mode} image with values outside 0..65535')
        gray = uint16_to_uint8(arr) if (mode != 'I' or arr.max(initial=0) > 255) else arr.astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == 'F':
        raise ValueError('floating-point image (mode F): store it as 8-bit or 16-bit')
    if mode in ('L', '1'):
        gray = np.asarray(img.convert('L'))
        return np.repeat(gray[..., None], 3, axis=2)
    if mode != 'RGB':
        img = img.convert('RGB')
    bgr = np.array(img)  # one writable copy; swapped in place below (large photos: no third copy)
    return cv2.cvtColor(bgr, cv2.COLOR_RGB2BGR, dst=bgr)


def _needs_transpose(img: Image.Image) -> bool:
    return img.getexif().get(0x0112, 1) not in (1, None)  # 0x0112: the EXIF Orientation tag


def decode_image(content: bytes, path: str = '<bytes>') -> np.ndarray:
    """Decode image file bytes to ``H x W x 3`` uint8 BGR (rules in the module docstring).

    Args:
        content (bytes): the encoded file.
        path (str): its path, only for error messages.

    Returns:
        np.ndarray: ``H x W x 3`` uint8, BGR.

    Raises:
        ValueError: the bytes are not a complete image of a supported kind; the message names the path.
    """
    try:
        with Image.open(io.BytesIO(content)) as img:
            img.load()  # decodes now: a truncated file raises here (LOAD_TRUNCATED_IMAGES is off)
            upright = ImageOps.exif_transpose(img, in_place=False) if _needs_transpose(img) else img
            return _pil_to_bgr(upright)
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError... for bad files
        kind = 'truncated' if 'truncated' in str(err).lower() else 'unreadable'
        raise ValueError(f'cannot read image {path!r}: {kind} ({type(err).__name__}: {err}). Re-export or '
                         'remove the file.') from err


def read_image(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image file as ``H x W x 3`` uint8 BGR (see :func:`decode_image`).

    Args:
        path (str): the file (any mmengine file backend).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: ``H x W x 3`` uint8, BGR.

    Raises:
        ValueError: the file is missing, unreadable, truncated or not an image; the message names it.
    """
    from mmengine import fileio

    try:
        content = fileio.get(path, backend_args=backend_args)
    except Exception as err:  # missing file, permission, remote backend errors
        raise ValueError(f'cannot read image {path!r}: {type(err).__name__}: {err}') from err
    return decode_image(content, path)
