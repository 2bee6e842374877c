"""Foreground masks in and out: one reader for every stored mask, one rounding rule for saved maps.

Foreground datasets ship masks as 8-bit grayscale 0/255 (most), RGB PNGs or JPEGs (some SOD and
forgery sets), palette PNGs, 16-bit PNGs, 0/1 label maps, coloured masks (red or blue on black) or
masks kept in the alpha channel. :func:`read_foreground_mask` is the one reader: the datasets'
``LoadForegroundMask``, ``ForegroundMetric`` (when it reads the file itself), ``tools/misc/check_dataset.py``
and the analysis tools all call it, so training, evaluation and the tools never disagree. Its rule:

1. **One plane.** Gray (``L``, ``I;16``, ``I``, ``F``, ``1``) is that plane. A palette whose colours are
   gray gives its gray levels; a palette with coloured entries is a label map (foreground = any index
   but 0, e.g. VOC-style palettes where index 1 is dark red). RGB: the brightest channel of each pixel
   (``max(R, G, B)``), so a gray mask stored as RGB reads as its gray value and a red or blue mask on
   black reads as bright. Alpha (``LA``, ``PA``, ``RGBA``): when the colour planes hold one value over
   the whole image and the alpha plane varies, the mask is the alpha plane; when only the colour
   planes vary, alpha is ignored; when both vary they must give the same foreground, else the file is
   refused (a cut-out photograph is not a mask).
2. **8-bit scale.** 8-bit planes stay as they are. 16-bit and 32-bit integer planes whose largest
   value is <= 255 hold 8-bit values already (a 0/255 mask saved as 16-bit); otherwise they are
   scaled by ``round(v * 255 / 65535)`` (:func:`uint16_to_uint8`; values above 65535 are refused).
   Float planes in [0, 1] are brought to 0..255 by :func:`probability_to_uint8` (``floor(p * 255 + 0.5)``);
   other floats are clipped to 0..255 and rounded half up.
3. **0/1 label maps.** A lossless plane whose largest value is 1, or a JPEG/WebP plane whose largest
   value is below :data:`LOSSY_LABEL_MAP_MAX` (a 0/1 map after compression holds 0..3; a 0/255 JPEG
   with any foreground reaches far above), is a label map: it is multiplied by 255 (clipped), so
   foreground = value >= 1.
4. **Threshold.** Foreground where the 8-bit value is ``> 128`` (the field's rule, pysodmetrics'
   ``prepare_data``); it also removes JPEG ringing around 0/255 masks (up to ~75 at quality 50).
5. **Never silently empty.** A plane with non-zero values that gives no foreground pixel is an error
   naming the file. An all-zero mask is a legitimate empty mask.

16-bit colour and gray+alpha PNGs are decoded with OpenCV (Pillow keeps only their high bytes, which
would turn a 0/1 mask into zeros); everything else with Pillow.
"""
import io
import os.path as osp
from typing import Optional, Tuple, Union

import numpy as np
from PIL import Image

from .image_io import uint16_to_uint8

#: pixel values strictly above this (on the 8-bit scale) are foreground.
FOREGROUND_THRESHOLD = 128
#: a lossy (JPEG/WebP) mask whose largest value is below this is a compressed 0/1 label map.
LOSSY_LABEL_MAP_MAX = 16
#: rows per chunk in :func:`probability_to_uint8` (bounds its temporary float32 copy).
_CHUNK_ELEMENTS = 1 << 20

_LOSSY_FORMATS = ('JPEG', 'MPO', 'WEBP')
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class MaskFormatError(ValueError):
    """A mask file that no rule of :mod:`focus_mm.datasets.mask_io` reads without guessing."""


def _palette_plane(img: Image.Image) -> np.ndarray:
    """Palette indices to 8-bit gray levels, or to a 0/255 label map for a coloured palette."""
    indices = np.asarray(img.getchannel(0) if img.mode == 'PA' else img)
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


def _is_constant(plane: np.ndarray) -> bool:
    """Whether every pixel of an ``H x W`` or ``H x W x C`` plane has the same value (colour)."""
    flat = plane.reshape(plane.shape[0] * plane.shape[1], -1)
    return flat.shape[0] == 0 or bool((flat == flat[:1]).all())


def _colour_plane(channels: np.ndarray) -> np.ndarray:
    """``H x W x C`` colour planes to one: the brightest channel of each pixel."""
    return channels.max(axis=2) if channels.ndim == 3 else channels


def _choose_plane(colour: np.ndarray, alpha: Optional[np.ndarray], path: str) -> Tuple[np.ndarray, str]:
    """Apply the alpha rule; returns the plane and a word saying which one was taken."""
    if alpha is None or _is_constant(alpha):
        return colour, 'colour'
    if _is_constant(colour):
        return alpha, 'alpha'
    colour_fg = _binarise(_to_gray8(colour, path), lossy=False)
    alpha_fg = _binarise(_to_gray8(alpha, path), lossy=False)
    if np.array_equal(colour_fg, alpha_fg):
        return colour, 'colour'
    raise MaskFormatError(
        f'The mask file {path!r} has both varying colours and a varying alpha channel, and they mark '
        f'different foregrounds ({int(colour_fg.sum())} vs {int(alpha_fg.sum())} pixels): it looks like '
        'a cut-out image, not a mask. Re-export it with the mask in one plane (gray 0/255 PNG).')


def _decode_planes(content: bytes, path: str) -> Tuple[np.ndarray, Optional[np.ndarray], bool]:
    """Decode to (colour/gray plane(s), alpha plane or None, lossy)."""
    if content[:8] == _PNG_SIGNATURE and len(content) > 25 and content[24] == 16 and content[25] in (2, 4, 6):
        import cv2  # 16-bit RGB, RGBA or gray+alpha PNG: Pillow would keep only the high byte of each value
        arr = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise OSError('OpenCV cannot decode this 16-bit PNG')
        if arr.ndim == 2:
            return arr, None, False
        alpha = arr[..., 3] if arr.shape[2] == 4 else None
        return arr[..., :3], alpha, False
    with Image.open(io.BytesIO(content)) as img:
        img.load()
        lossy = img.format in _LOSSY_FORMATS
        mode = img.mode
        if mode in ('P', 'PA'):
            alpha = np.asarray(img.getchannel(1)) if mode == 'PA' else None
            return _palette_plane(img), alpha, lossy
        if mode == '1':
            return np.asarray(img, dtype=np.uint8) * 255, None, lossy
        if mode in ('LA', 'La'):
            return np.asarray(img.getchannel(0)), np.asarray(img.getchannel(1)), lossy
        if mode in ('RGBA', 'RGBa'):
            arr = np.asarray(img)
            return arr[..., :3], arr[..., 3], lossy
        if mode in ('RGB', 'RGBX', 'CMYK', 'YCbCr', 'LAB', 'HSV'):
            return np.asarray(img.convert('RGB')), None, lossy
        if mode == 'L':
            return np.asarray(img), None, lossy
        arr = np.asarray(img)  # I;16*, I, F
        return arr, None, lossy


def _to_gray8(plane: np.ndarray, path: str) -> np.ndarray:
    """Rule 2: any bit depth to the 8-bit scale."""
    plane = _colour_plane(plane)
    if plane.dtype == np.uint8:
        return plane
    if plane.dtype == np.bool_:
        return plane.astype(np.uint8) * 255
    top = plane.max(initial=0)
    if np.issubdtype(plane.dtype, np.floating):
        if not np.isfinite(plane).all():
            raise MaskFormatError(f'The mask file {path!r} holds NaN or infinite values.')
        if top <= 1.0:  # a probability-like map: the rule of saved prediction PNGs
            return probability_to_uint8(plane)
        return np.floor(np.clip(plane.astype(np.float32), 0, 255) + np.float32(0.5)).astype(np.uint8)
    if plane.min(initial=0) < 0 or top > 65535:
        raise MaskFormatError(f'The mask file {path!r} holds values outside 0..65535 '
                              f'({plane.min()}..{top}); store it as an 8-bit or 16-bit PNG.')
    if top <= 255:  # 8-bit values (0/255, 0/1) stored with more bits
        return plane.astype(np.uint8)
    return uint16_to_uint8(plane)


def _binarise(gray8: np.ndarray, lossy: bool) -> np.ndarray:
    """Rules 3 and 4 on an 8-bit plane."""
    top = int(gray8.max(initial=0))
    if 0 < top <= 1 or (lossy and 0 < top < LOSSY_LABEL_MAP_MAX):
        return gray8 >= 1  # a 0/1 label map: x 255 puts every label-1 pixel above 128
    return gray8 > FOREGROUND_THRESHOLD


def decode_foreground_mask(content: bytes, path: str = '<bytes>') -> np.ndarray:
    """Decode mask file bytes into a boolean foreground map (rules in the module docstring).

    Args:
        content (bytes): the encoded file (PNG, JPEG, BMP, TIFF, GIF, WebP...).
        path (str): its path, only for error messages.

    Returns:
        np.ndarray: H x W bool, True = foreground.

    Raises:
        OSError: the file cannot be decoded (the message names the path).
        MaskFormatError: the mask has non-zero values but no foreground, or an ambiguous storage
            (the message names the path and what to do).
    """
    try:
        colour, alpha, lossy = _decode_planes(content, path)
    except Exception as err:  # Pillow raises several types for corrupt or truncated files
        raise OSError(f'Cannot decode the mask file {path!r} ({type(err).__name__}: {err}). '
                      'Check that it is a readable image (PNG/JPEG/BMP/TIFF); re-export it if it '
                      'is truncated.') from err
    plane, which = _choose_plane(colour, alpha, path)
    gray8 = _to_gray8(plane, path)
    foreground = _binarise(gray8, lossy=lossy and which == 'colour')
    if not foreground.any():
        raw = _colour_plane(plane)
        top = raw.max(initial=0)
        if top != 0:
            raise MaskFormatError(
                f'The mask file {path!r} has non-zero values (largest {top}, {raw.dtype}, '
                f'{"alpha" if which == "alpha" else "colour/gray"} plane) but no foreground under the '
                f'rules of focus_mm.datasets.mask_io (8-bit value > {FOREGROUND_THRESHOLD}; 0/1 label '
                'maps; 16-bit scaled by 255/65535). Re-export it as a 0/255 (or 0/1) PNG, or, if it '
                'is meant to be empty, as all zeros.')
    return foreground


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
        MaskFormatError: the file's values give no foreground although they are not all zero, or
            its storage is ambiguous; the message names the path.
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


def probability_to_uint8(prob: Union[np.ndarray, 'torch.Tensor']) -> np.ndarray:  # noqa: F821
    """The one rounding rule from a probability map to a saved 8-bit PNG: ``floor(p * 255 + 0.5)``.

    Round half up, in float32, with ``p`` clipped to [0, 1] first. ``ForegroundMetric`` quantises with
    it, and the save hook of ``tools/test.py --out``, ``tools/infer.py`` and the analysis tools write
    with it, so evaluating the saved PNGs gives exactly the metric's numbers. Large maps are done in
    row chunks, so the temporary float32 copy stays small.

    Args:
        prob (np.ndarray | torch.Tensor): ``H x W`` (or any shape) probabilities.

    Returns:
        np.ndarray: uint8 of the same shape.

    Raises:
        ValueError: the map holds NaN or infinite values (they have no 8-bit value).
    """
    if not isinstance(prob, np.ndarray):  # a torch tensor (possibly on a GPU)
        prob = prob.detach().float().cpu().numpy()
    prob = np.asarray(prob)
    if not np.isfinite(prob).all():
        raise ValueError(f'probability map with {int((~np.isfinite(prob)).sum())} non-finite value(s) '
                         'cannot be quantised')
    out = np.empty(prob.shape, dtype=np.uint8)
    flat_in = prob.reshape(-1) if prob.flags.c_contiguous else np.ascontiguousarray(prob).reshape(-1)
    flat_out = out.reshape(-1)
    for start in range(0, flat_in.size, _CHUNK_ELEMENTS):
        chunk = np.clip(flat_in[start:start + _CHUNK_ELEMENTS], 0, 1).astype(np.float32, copy=False)
        chunk = chunk * np.float32(255)
        chunk += np.float32(0.5)
        flat_out[start:start + _CHUNK_ELEMENTS] = chunk  # float -> uint8 truncates: floor for >= 0
    return out
