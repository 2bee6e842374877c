"""Reading foreground masks whatever their storage, binarised the way the field does (``> 128``).

Foreground datasets ship masks as 8-bit grayscale 0/255 (most), RGB PNGs or JPEGs (some SOD and
forgery sets), palette PNGs, 16-bit PNGs, or 0/1 label maps. The rule here, shared by the pipeline
transform and the evaluator so that training and evaluation never disagree:

1. bring the mask to one 8-bit gray channel: RGB(A) by luma (ITU-R 601, what OpenCV's and PIL's
   grayscale conversions use), 16-bit and float by scaling their full range onto 0..255, a
   grayscale palette by its gray levels;
2. foreground where the 8-bit value is ``> 128`` (pysodmetrics' ``prepare_data`` threshold);
3. two exceptions, both stated here because they change that rule: a mask whose values are only
   0 and 1 is a label map (foreground = 1), and a palette whose colours are not gray is a label map
   too (foreground = any index but 0, e.g. VOC-style palettes where index 1 is dark red).
"""
import io
import os.path as osp
from typing import Optional

import numpy as np
from PIL import Image

#: pixel values strictly above this (on the 8-bit scale) are foreground.
FOREGROUND_THRESHOLD = 128


def _palette_to_gray(img: Image.Image) -> np.ndarray:
    """Turn a palette image into 8-bit gray levels, or a 0/255 label map for a coloured palette."""
    indices = np.asarray(img)
    palette = np.asarray(img.getpalette() or [], dtype=np.uint8).reshape(-1, 3)
    used = np.unique(indices)
    used_colours = palette[used[used < len(palette)]]
    is_gray = len(used_colours) > 0 and bool(
        np.all(used_colours[:, 0] == used_colours[:, 1]) and np.all(used_colours[:, 1] == used_colours[:, 2]))
    if is_gray:
        lut = np.zeros(256, dtype=np.uint8)
        lut[:len(palette)] = palette[:, 0]
        return lut[indices]
    return np.where(indices != 0, 255, 0).astype(np.uint8)


def mask_to_gray8(img: Image.Image) -> np.ndarray:
    """Convert a PIL mask image of any mode to one uint8 gray channel (0..255).

    Args:
        img (PIL.Image.Image): the decoded mask.

    Returns:
        np.ndarray: H x W uint8.
    """
    mode = img.mode
    if mode == 'P':
        return _palette_to_gray(img)
    if mode == '1':
        return np.asarray(img, dtype=np.uint8) * 255
    if mode in ('L', 'LA', 'PA'):
        return np.asarray(img.getchannel(0), dtype=np.uint8) if mode != 'L' else np.asarray(img)
    if mode in ('RGB', 'RGBA', 'CMYK', 'YCbCr', 'RGBX', 'LAB', 'HSV'):
        return np.asarray(img.convert('RGB').convert('L'))
    # 16-bit and 32-bit integer / float masks: scale the storage's full range onto 0..255.
    arr = np.asarray(img)
    if arr.ndim == 3:
        arr = arr[..., 0]
    if mode.startswith('I;16') or arr.dtype == np.uint16:
        return np.round(arr.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    if mode == 'F' or np.issubdtype(arr.dtype, np.floating):
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        return np.clip(np.round(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    # 'I' (int32): treat as 16-bit storage when it exceeds 8 bits, else as 8-bit values.
    scale = 255.0 / 65535.0 if arr.max(initial=0) > 255 else 1.0
    return np.clip(np.round(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)


def binarize_gray8(gray: np.ndarray, allow_label_map: bool = True) -> np.ndarray:
    """Foreground (True) where ``gray > 128``; a 0/1 label map has foreground where it is 1.

    Args:
        gray (np.ndarray): H x W uint8 mask.
        allow_label_map (bool): whether values limited to {0, 1} mean a label map. Off for lossy
            formats (JPEG), whose all-background masks carry +-1 compression noise.

    Returns:
        np.ndarray: H x W bool.
    """
    if allow_label_map and gray.max(initial=0) == 1:
        # Only values 0 and 1: a label map, not an 8-bit mask that happens to be nearly black.
        return gray == 1
    return gray > FOREGROUND_THRESHOLD


def decode_foreground_mask(content: bytes, path: str = '<bytes>') -> np.ndarray:
    """Decode mask file bytes into a boolean foreground map.

    Args:
        content (bytes): the encoded file (PNG, JPEG, BMP, TIFF, GIF...).
        path (str): its path, only for error messages.

    Returns:
        np.ndarray: H x W bool, True = foreground.

    Raises:
        OSError: when the file cannot be decoded (the message names the path).
    """
    try:
        with Image.open(io.BytesIO(content)) as img:
            img.load()
            lossy = img.format in ('JPEG', 'MPO', 'WEBP')
            gray = mask_to_gray8(img)
    except Exception as err:  # PIL raises several types for corrupt files
        raise OSError(f'Cannot decode the mask file {path!r} ({type(err).__name__}: {err}). '
                      'Check that it is a readable image (PNG/JPEG/BMP/TIFF); re-export it if it '
                      'is truncated.') from err
    return binarize_gray8(gray, allow_label_map=not lossy)


def read_foreground_mask(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a mask file into a boolean foreground map (see the module docstring for the rules).

    Args:
        path (str): the mask file.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: H x W bool, True = foreground.

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file cannot be read or decoded; the message names the path.
    """
    try:
        from mmengine import fileio
        content = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(f'Mask file not found: {path!r}.') from None
    except ImportError:  # mmengine missing: plain local read
        if not osp.isfile(path):
            raise FileNotFoundError(f'Mask file not found: {path!r}.') from None
        with open(path, 'rb') as f:
            content = f.read()
    except Exception as err:
        raise OSError(f'Cannot read the mask file {path!r}: {err}') from err
    return decode_foreground_mask(content, path)
