"""The web demo's model side: which checkpoint to serve, its tasks, and an upload in, three PNGs out.

Kept apart from the HTTP server (demo/web_demo.py) so that it reads as the few calls of the Python API
that a page needs: ``FocusInferencer`` per (task, backend), built on first use and shared by the requests.
"""
import io
import os.path as osp
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Where ``bash tools/run_demo.sh [--universal]`` leaves its checkpoint, with the config it trained and
#: the command that makes it; the first one present is served by default.
DEMO_RUNS = (
    ('configs/focus/focus-universal_mini_1xb8-1500_all-256x256.py', 'work_dirs/demo_universal',
     'bash tools/run_demo.sh --universal'),
    ('configs/focus/focus_mini_1xb8-300_sod-256x256.py', 'work_dirs/demo_sod', 'bash tools/run_demo.sh'),
)


class ImageRejected(ValueError):
    """An upload the demo does not run: too large, not an image, or an image it cannot decode.

    Attributes:
        status (int): The HTTP status that fits (400, or 413 for a size over the limits).
    """

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Limits:
    """What an upload may be.

    Attributes:
        max_upload_bytes (int): Largest image file accepted.
        max_side (int): Largest image width or height, in pixels (checked before decoding).
        max_video_bytes (int): Largest video file accepted.
    """
    max_upload_bytes: int = 10 * 2**20
    max_side: int = 4096
    max_video_bytes: int = 200 * 2**20

    def describe(self) -> str:
        return (f'images up to {self.max_upload_bytes / 2**20:g} MB and {self.max_side} px on the longer '
                f'side; videos up to {self.max_video_bytes / 2**20:g} MB')


def find_demo_checkpoint(repo: str = REPO) -> Optional[Tuple[str, str]]:
    """The ``(config, checkpoint)`` that ``tools/run_demo.sh`` wrote (universal first), or None."""
    for config, work_dir, _ in DEMO_RUNS:
        pointer = osp.join(repo, work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            continue
        with open(pointer) as f:
            checkpoint = f.read().strip()
        checkpoint = checkpoint if osp.isabs(checkpoint) else osp.join(repo, checkpoint)
        if osp.isfile(checkpoint):
            return osp.join(repo, config), checkpoint
    return None


def missing_checkpoint_message() -> str:
    """What to run when there is no checkpoint to serve."""
    commands = '; '.join(f'`{command}` (writes {work_dir}/)' for _, work_dir, command in DEMO_RUNS)
    return (f'No trained checkpoint found in {" or ".join(w for _, w, _ in DEMO_RUNS)}. Make one with '
            f'{commands}, or start the demo with a config and a checkpoint: '
            '`python demo/web_demo.py CONFIG CHECKPOINT`.')


def decode_upload(content: bytes, limits: Limits, name: str = 'upload') -> np.ndarray:
    """An uploaded image file as ``H x W x 3`` uint8 BGR, decoded as ``tools/infer.py`` reads files.

    The size is read from the header first, so an image over ``max_side`` is refused before its pixels
    are decoded.

    Args:
        content (bytes): The file.
        limits (Limits): The demo's limits.
        name (str): The file's name, for messages.

    Returns:
        np.ndarray: The image.

    Raises:
        ImageRejected: Too large, not an image, or not decodable (truncated, corrupt).
    """
    from PIL import Image

    from focus_mm.datasets.image_io import IMAGE_SUFFIXES, decode_image

    if len(content) > limits.max_upload_bytes:
        raise ImageRejected(f'{name}: {len(content) / 2**20:.1f} MB is over the limit of '
                            f'{limits.max_upload_bytes / 2**20:g} MB', status=413)
    kinds = ', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)
    try:
        with Image.open(io.BytesIO(content)) as img:
            width, height = img.size
    except Exception as err:  # Pillow's errors for a file it does not recognise vary by format
        raise ImageRejected(f'{name}: not an image this demo reads ({kinds}): {type(err).__name__}') from err
    if max(width, height) > limits.max_side:
        raise ImageRejected(f'{name}: {width}x{height} px is over the limit of {limits.max_side} px on the '
                            'longer side; resize it first', status=413)
    try:
        return decode_image(content, name)
    except ValueError as err:
        raise ImageRejected(str(err)) from err


def encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode('.png', image)
    if not ok:
        raise RuntimeError('PNG encoding failed')
    return data.tobytes()


class DemoModel:
    """One config and checkpoint, served for each of its tasks and backends.

    Inference runs one request at a time (a lock): the model already uses every CPU thread torch is
    given, and a universal model's task is a setting of the model, not of a call.

    Args:
        config (str): The model config.
        checkpoint (str): The ``.pth`` checkpoint.
        onnx (str, optional): An export of the same model (``tools/deployment/pytorch2onnx.py``), which
            makes the ``onnxruntime`` backend available. Defaults to None.
        device (str): Device of the PyTorch backend. Defaults to 'cpu'.
    """

    def __init__(self, config: str, checkpoint: str, onnx: Optional[str] = None, device: str = 'cpu'):
        from mmengine.config import Config

        for path, what in ((config, 'config'), (checkpoint, 'checkpoint'), (onnx, 'ONNX file')):
            if path is not None and not osp.isfile(path):
                raise FileNotFoundError(f'{what} not found: {path}')
        cfg = Config.fromfile(config)
        self.config, self.checkpoint, self.onnx, self.device = config, checkpoint, onnx, device
        self.tasks: Tuple[str, ...] = tuple(cfg.model.get('decode_head', {}).get('tasks') or ())
        evaluator = cfg.get('test_evaluator')
        self.own_task: Optional[str] = evaluator.get('task') if isinstance(evaluator, dict) else None
        self.backends: Tuple[str, ...] = ('pytorch', 'onnxruntime') if onnx else ('pytorch', )
        self._inferencers: Dict[tuple, object] = {}
        self._build_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def check_choice(self, task: Optional[str], backend: str) -> Optional[str]:
        """The task to pass to the inferencer (None for a single-task model); fails naming the choices."""
        if backend not in self.backends:
            raise ImageRejected(f'backend {backend!r} is not served; this demo has {list(self.backends)} '
                                '(start it with --onnx FILE for onnxruntime)')
        if not self.tasks:
            return None
        if task not in self.tasks:
            raise ImageRejected(f'choose the task of this universal checkpoint: one of {list(self.tasks)}')
        return task

    def inferencer(self, task: Optional[str], backend: str):
        """The ``FocusInferencer`` for a task and backend (built on first use)."""
        from focus_mm.apis import FocusInferencer

        task = self.check_choice(task, backend)
        with self._build_lock:
            key = (task, backend)
            if key not in self._inferencers:
                weights = self.onnx if backend == 'onnxruntime' else self.checkpoint
                device = 'cpu' if backend == 'onnxruntime' else self.device
                self._inferencers[key] = FocusInferencer(self.config, weights, device=device, batch_size=1,
                                                         backend=backend, task=task)
            return self._inferencers[key]

    def masks(self, images: Sequence[np.ndarray], task: Optional[str], backend: str) -> List[np.ndarray]:
        """The ``H x W`` uint8 masks (1 = foreground) of BGR images (the video demo's ``predict``)."""
        inferencer = self.inferencer(task, backend)
        with self._run_lock:
            return [result.mask for result in inferencer(list(images))]

    def segment(self, image: np.ndarray, task: Optional[str], backend: str, alpha: float = 0.5) -> dict:
        """Run one image.

        Args:
            image (np.ndarray): ``H x W x 3`` uint8 BGR.
            task (str, optional): The task (universal checkpoints).
            backend (str): 'pytorch' or 'onnxruntime'.
            alpha (float): Overlay opacity. Defaults to 0.5.

        Returns:
            dict: ``mask``, ``prob``, ``overlay`` (PNG bytes, as ``tools/infer.py`` writes them),
            ``seconds`` (the model's time, waiting excluded), ``foreground`` (fraction of pixels).
        """
        from focus_mm.datasets.mask_io import probability_to_uint8
        from focus_mm.utils import overlay_mask

        inferencer = self.inferencer(task, backend)
        with self._run_lock:
            tic = time.perf_counter()
            result = inferencer(image)[0]
            seconds = time.perf_counter() - tic
        return dict(mask=encode_png(result.mask * np.uint8(255)),
                    prob=encode_png(probability_to_uint8(result.prob)),
                    overlay=encode_png(overlay_mask(image, result.mask, alpha)), seconds=seconds,
                    foreground=float(result.mask.mean()))


def example_image(task: str, index: int) -> bytes:
    """A test image of the bundled mini-benchmark as PNG bytes (generated: nothing is downloaded)."""
    from focus_mm.datasets.mini_bench import make_sample

    return encode_png(make_sample(task, 'test', index).image)
