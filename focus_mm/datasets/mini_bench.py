"""The mini-benchmark: small, exact, deterministic datasets for the five tasks, built offline.

One job in one file (~360 lines): the five sample makers share the crop, mask and compositing helpers
and the on-disk split writer below.

Every image is composed from the photographs and textures bundled with scikit-image (CC0 or public
domain, shipped inside the wheel: nothing is downloaded), with a mask that is exact by construction:

- ``sod``: a random shape filled with a crop of a colour photograph, on a muted, low-contrast
  texture (distinct in colour and texture, but never a flat colour);
- ``cod``: a shape filled with one crop of a texture, on another crop of the same texture with the
  same tint (scale, orientation and brightness differ slightly: camouflaged, yet findable);
- ``sd``: a photograph darkened (and slightly blued) under a soft-edged shadow; the mask is where
  the shadow's strength is >= 0.5;
- ``dbd``: a photograph or texture kept sharp inside a shape and Gaussian-blurred outside;
- ``fd``: a shape spliced from another photograph (colour statistics matched half of the time).

Sample ``i`` of a split is drawn from ``numpy.random.default_rng([seed, task, split, i])``, so the
data are byte-identical for the same parameters and scikit-image version. The cache is
``<root>/<task>/{train,test}/{images,masks}/*.png`` with a ``meta.json`` of the parameters; it is
rebuilt when they change, under a file lock and through an atomic rename, so that several processes
starting at once build it once.
"""
import fcntl
import json
import os
import os.path as osp
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

#: bump when the generator's output changes, so that old caches are rebuilt.
GENERATOR_VERSION = 1
TASKS = ('sod', 'cod', 'sd', 'dbd', 'fd')
SPLITS = ('train', 'test')
#: colour photographs (CC0 / public domain, bundled in scikit-image's wheel).
COLOR_PHOTOS = ('astronaut.png', 'coffee.png', 'chelsea.png', 'rocket.jpg', 'hubble_deep_field.jpg',
                'retina.jpg')
#: grayscale photographs (CC0).
GRAY_PHOTOS = ('camera.png', )
#: CC0 textures (cc0textures.com via scikit-image).
TEXTURES = ('brick.png', 'grass.png', 'gravel.png')
#: a CC0 silhouette used as one of the object shapes.
SILHOUETTE = 'horse.png'


def default_root() -> str:
    """``$FOCUS_DATA/mini_bench`` when FOCUS_DATA is set, else ``data/mini_bench`` (relative to cwd)."""
    base = os.environ.get('FOCUS_DATA')
    return osp.join(base, 'mini_bench') if base else osp.join('data', 'mini_bench')


@lru_cache(maxsize=None)
def load_skimage_file(name: str) -> np.ndarray:
    """Read a file bundled in scikit-image's ``data`` folder as uint8 BGR (or BGRA for the silhouette).

    Args:
        name (str): file name, e.g. 'coffee.png'.

    Returns:
        np.ndarray: the image (read-only).
    """
    import skimage.data
    path = osp.join(osp.dirname(skimage.data.__file__), name)
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED) if osp.isfile(path) else None
    if img is None:
        raise FileNotFoundError(f'scikit-image data file {path!r} is missing or unreadable; the '
                                'mini-benchmark only uses files bundled in the scikit-image wheel (reinstall '
                                'scikit-image<0.26).')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    img.setflags(write=False)
    return img


# ---------------------------------------------------------------------------------------- drawing
def random_crop(src: np.ndarray, h: int, w: int, rng: np.random.Generator,
                scale_range: Tuple[float, float] = (0.6, 1.0)) -> np.ndarray:
    """A random h x w crop of ``src`` after a random rescale (the crop covers 1/scale of the view).

    Args:
        src (np.ndarray): source image (H x W x C).
        h, w (int): output size.
        rng (np.random.Generator): randomness.
        scale_range (tuple): fraction of the source's shorter side that the crop spans.

    Returns:
        np.ndarray: h x w x C uint8.
    """
    frac = rng.uniform(*scale_range)
    span = frac * min(src.shape[:2])
    factor = max(h, w) / span
    new_h = max(h, int(np.ceil(src.shape[0] * factor)))
    new_w = max(w, int(np.ceil(src.shape[1] * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(src, (new_w, new_h), interpolation=interp)
    y = int(rng.integers(0, new_h - h + 1))
    x = int(rng.integers(0, new_w - w + 1))
    return np.ascontiguousarray(resized[y:y + h, x:x + w])


def blob_mask(h: int, w: int, rng: np.random.Generator,
              area_range: Tuple[float, float] = (0.08, 0.3)) -> np.ndarray:
    """A random smooth star-shaped blob (radius = a few random harmonics of the angle).

    Args:
        h, w (int): mask size.
        rng (np.random.Generator): randomness.
        area_range (tuple): rough fraction of the image the blob covers.

    Returns:
        np.ndarray: h x w bool.
    """
    area = rng.uniform(*area_range) * h * w
    radius = np.sqrt(area / np.pi)
    theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 6):
        r += rng.uniform(0, 0.28 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = radius * np.clip(r, 0.35, None) / r.mean()
    margin_y, margin_x = min(radius, h / 2.5), min(radius, w / 2.5)
    cy = rng.uniform(margin_y, h - margin_y)
    cx = rng.uniform(margin_x, w - margin_x)
    pts = np.stack([cx + r * np.cos(theta), cy + r * np.sin(theta)], axis=1)
    canvas = np.zeros((h, w), np.uint8)
    cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1, lineType=cv2.LINE_8)
    return canvas.astype(bool)


def silhouette_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """scikit-image's horse silhouette, scaled, flipped and placed at random.

    Returns:
        np.ndarray: h x w bool.
    """
    horse = load_skimage_file(SILHOUETTE)
    shape = (horse[..., :3].mean(axis=2) < 128).astype(np.uint8)  # black horse on white
    scale = rng.uniform(0.45, 0.75) * min(h / shape.shape[0], w / shape.shape[1])
    sh, sw = max(8, int(shape.shape[0] * scale)), max(8, int(shape.shape[1] * scale))
    shape = cv2.resize(shape, (sw, sh), interpolation=cv2.INTER_NEAREST)
    if rng.random() < 0.5:
        shape = shape[:, ::-1]
    canvas = np.zeros((h, w), np.uint8)
    y, x = int(rng.integers(0, h - sh + 1)), int(rng.integers(0, w - sw + 1))
    canvas[y:y + sh, x:x + sw] = shape
    return canvas.astype(bool)


def object_mask(h: int, w: int, rng: np.random.Generator, area_range=(0.08, 0.3)) -> np.ndarray:
    """A blob (3 in 4) or the silhouette (1 in 4); never empty."""
    mask = silhouette_mask(h, w, rng) if rng.random() < 0.25 else blob_mask(h, w, rng, area_range)
    if not mask.any():  # degenerate polygon: fall back to a centred disc
        mask = np.zeros((h, w), np.uint8)
        cv2.circle(mask, (w // 2, h // 2), max(4, min(h, w) // 6), 1, -1)
        mask = mask.astype(bool)
    return mask


def tint(gray_bgr: np.ndarray, colour: np.ndarray, contrast: float = 1.0) -> np.ndarray:
    """Colour a (gray) image by a BGR colour in [0, 1], scaling its contrast about its mean."""
    g = gray_bgr.astype(np.float32).mean(axis=2, keepdims=True)
    g = g.mean() + (g - g.mean()) * contrast
    return np.clip(g * colour[None, None, :], 0, 255).astype(np.uint8)


def composite(mask: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Hard paste: ``fg`` inside the mask, ``bg`` outside (exact masks; no anti-aliasing)."""
    return np.where(mask[..., None], fg, bg)


# ---------------------------------------------------------------------------------------- samples
@dataclass
class MiniSample:
    """One generated sample and the layers it was composed from (kept for tests).

    Attributes:
        image (np.ndarray): H x W x 3 uint8 BGR.
        mask (np.ndarray): H x W bool, the foreground.
        inside (np.ndarray): the layer the image equals inside the mask (or None for ``sd``).
        outside (np.ndarray): the layer the image equals outside the mask (for ``sd``: where the
            shadow strength is exactly 0).
        alpha (np.ndarray, optional): the shadow strength in [0, 1] (``sd`` only).
    """
    image: np.ndarray
    mask: np.ndarray
    inside: Optional[np.ndarray]
    outside: np.ndarray
    alpha: Optional[np.ndarray] = None


def _pick(rng: np.random.Generator, names: Sequence[str]) -> np.ndarray:
    return load_skimage_file(names[int(rng.integers(len(names)))])[..., :3]


def _sample_sod(h, w, rng):
    colour = rng.uniform(0.55, 1.0, 3)
    bg = tint(random_crop(_pick(rng, TEXTURES), h, w, rng), colour, contrast=rng.uniform(0.3, 0.6))
    bg = cv2.GaussianBlur(bg, (0, 0), 1.2)
    fg = random_crop(_pick(rng, COLOR_PHOTOS[:4]), h, w, rng, (0.3, 0.7))
    # salient: more saturated and contrasted than the muted background
    hsv = cv2.cvtColor(fg, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.6 + 40, 0, 255)
    fg = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    mask = object_mask(h, w, rng, (0.1, 0.35))
    return MiniSample(composite(mask, fg, bg), mask, fg, bg)


def _sample_cod(h, w, rng):
    texture = _pick(rng, TEXTURES)
    colour = rng.uniform(0.5, 1.0, 3)
    bg = tint(random_crop(texture, h, w, rng, (0.5, 0.9)), colour)
    side = max(h, w)  # square crop, turned by a multiple of 90 degrees, then cut to h x w
    fg_src = np.rot90(random_crop(texture, side, side, rng, (0.4, 1.0)), int(rng.integers(4)))[:h, :w]
    fg_colour = colour * rng.uniform(0.88, 1.12)
    fg = tint(np.ascontiguousarray(fg_src), fg_colour, contrast=rng.uniform(0.85, 1.15))
    mask = object_mask(h, w, rng, (0.08, 0.3))
    return MiniSample(composite(mask, fg, bg), mask, fg, bg)


def _sample_sd(h, w, rng):
    bg = random_crop(_pick(rng, COLOR_PHOTOS + GRAY_PHOTOS + TEXTURES), h, w, rng)
    hard = object_mask(h, w, rng, (0.1, 0.35)).astype(np.float32)
    alpha = cv2.GaussianBlur(hard, (0, 0), rng.uniform(1.5, 4.0))
    alpha[alpha < 1e-3] = 0.0  # the blur's far tails: no shadow at all
    darkness = rng.uniform(0.35, 0.6)
    gain = 1.0 - (1.0 - darkness) * alpha[..., None] * np.array([0.92, 1.0, 1.0], np.float32)  # bluish shade
    image = np.clip(np.round(bg.astype(np.float32) * gain), 0, 255).astype(np.uint8)
    return MiniSample(image, alpha >= 0.5, None, bg, alpha)


def _sample_dbd(h, w, rng):
    sharp = random_crop(_pick(rng, COLOR_PHOTOS + GRAY_PHOTOS + TEXTURES), h, w, rng, (0.4, 0.8))
    blurred = cv2.GaussianBlur(sharp, (0, 0), rng.uniform(2.0, 4.0))
    mask = object_mask(h, w, rng, (0.15, 0.45))
    return MiniSample(composite(mask, sharp, blurred), mask, sharp, blurred)


def _sample_fd(h, w, rng):
    order = rng.permutation(len(COLOR_PHOTOS))
    host = random_crop(load_skimage_file(COLOR_PHOTOS[order[0]])[..., :3], h, w, rng)
    donor = random_crop(load_skimage_file(COLOR_PHOTOS[order[1]])[..., :3], h, w, rng)
    if rng.random() < 0.5:  # match the donor's colour statistics to the host's: a subtler splice
        d, t = donor.astype(np.float32), host.astype(np.float32)
        d = (d - d.mean((0, 1))) / (d.std((0, 1)) + 1e-6) * t.std((0, 1)) + t.mean((0, 1))
        donor = np.clip(np.round(d), 0, 255).astype(np.uint8)
    mask = object_mask(h, w, rng, (0.05, 0.25))
    return MiniSample(composite(mask, donor, host), mask, donor, host)


_SAMPLERS = dict(sod=_sample_sod, cod=_sample_cod, sd=_sample_sd, dbd=_sample_dbd, fd=_sample_fd)


def make_sample(task: str, split: str, index: int, seed: int = 0,
                size_range: Tuple[int, int] = (256, 320)) -> MiniSample:
    """Generate sample ``index`` of a task's split (deterministic in all arguments).

    Args:
        task (str): one of :data:`TASKS`.
        split (str): 'train' or 'test'.
        index (int): sample number.
        seed (int): the benchmark's seed.
        size_range (tuple[int, int]): inclusive range of the image height and width.

    Returns:
        MiniSample: the image, its mask and the layers.
    """
    if task not in _SAMPLERS:
        raise KeyError(f'mini-benchmark: unknown task {task!r}; choose from {TASKS}.')
    if split not in SPLITS:
        raise KeyError(f'mini-benchmark: unknown split {split!r}; choose from {SPLITS}.')
    rng = np.random.default_rng([seed, TASKS.index(task), SPLITS.index(split), index])
    lo, hi = int(size_range[0]), int(size_range[1])
    h, w = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
    return _SAMPLERS[task](h, w, rng)


# ------------------------------------------------------------------------------------------ cache
def _meta(task, num_train, num_test, size_range, seed) -> dict:
    import skimage
    return dict(generator_version=GENERATOR_VERSION, task=task, num_train=int(num_train),
                num_test=int(num_test),
                size_range=[int(size_range[0]), int(size_range[1])], seed=int(seed),
                skimage_version=skimage.__version__, opencv_version=cv2.__version__)


def _read_meta(folder: str) -> Optional[dict]:
    try:
        with open(osp.join(folder, 'meta.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_split(folder: str, task: str, split: str, num: int, seed: int, size_range) -> None:
    """Write ``num`` samples of a split as PNGs under ``folder/<split>/{images,masks}``."""
    img_dir, mask_dir = osp.join(folder, split, 'images'), osp.join(folder, split, 'masks')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(mask_dir, exist_ok=True)
    for i in range(num):
        sample = make_sample(task, split, i, seed, size_range)
        name = f'{task}_{split}_{i:04d}.png'
        ok_img = cv2.imwrite(osp.join(img_dir, name), sample.image)
        ok_mask = cv2.imwrite(osp.join(mask_dir, name), sample.mask.astype(np.uint8) * 255)
        if not (ok_img and ok_mask):
            raise OSError(f'mini-benchmark: could not write {name!r} under {folder!r} '
                          '(disk full or read-only?).')


def ensure_mini_bench(task: str,
                      root: Optional[str] = None,
                      num_train: int = 60,
                      num_test: int = 20,
                      size_range: Tuple[int, int] = (256, 320),
                      seed: int = 0) -> str:
    """Return ``<root>/<task>``, generating it first if it is missing or was built differently.

    Safe when several processes call it at once: one builds into a temporary folder under a file
    lock and renames it into place; the others wait for the lock and then find it ready.

    Args:
        task (str): one of :data:`TASKS`.
        root (str, optional): cache folder. Defaults to :func:`default_root`.
        num_train, num_test (int): images per split.
        size_range (tuple[int, int]): inclusive range of image height and width.
        seed (int): the benchmark's seed.

    Returns:
        str: the task folder (with ``train/`` and ``test/``).
    """
    if task not in TASKS:
        raise KeyError(f'mini-benchmark: unknown task {task!r}; choose from {TASKS}.')
    root = root or default_root()
    target = osp.join(root, task)
    meta = _meta(task, num_train, num_test, size_range, seed)
    if _read_meta(target) == meta:
        return target
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, f'.{task}.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _read_meta(target) == meta:  # another process built it while we waited
                return target
            tmp = tempfile.mkdtemp(prefix=f'.{task}.building.', dir=root)
            try:
                write_split(tmp, task, 'train', num_train, seed, size_range)
                write_split(tmp, task, 'test', num_test, seed, size_range)
                with open(osp.join(tmp, 'meta.json'), 'w') as f:  # written last: marks completeness
                    json.dump(meta, f, indent=2)
                os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache may be shared
                if osp.exists(target):
                    stale = tempfile.mkdtemp(prefix=f'.{task}.stale.', dir=root)
                    os.rename(target, osp.join(stale, task))
                    shutil.rmtree(stale, ignore_errors=True)
                os.rename(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target
