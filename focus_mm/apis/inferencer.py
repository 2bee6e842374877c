"""Run a trained model on people's images: ``FocusInferencer``, in the spirit of mmseg's MMSegInferencer."""
import copy
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from ..utils import build_offline_model
from .checkpoint import load_model_checkpoint

ImageInput = Union[str, np.ndarray]

# Test-pipeline steps that need a ground truth; inference on a bare image drops them.
_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadForegroundMask')


@dataclass
class ForegroundPrediction:
    """One image's result, at the image's original size.

    Attributes:
        mask (np.ndarray): ``H x W`` uint8, 1 = foreground (the joint decision P_fg > P_bg).
        prob (np.ndarray): ``H x W`` float32 foreground probability in [0, 1].
        source (str): The file path, or ``'<array i>'`` for arrays.
    """
    mask: np.ndarray
    prob: np.ndarray
    source: str


def read_image(path: str) -> np.ndarray:
    """Read any common image file as ``H x W x 3`` uint8 BGR (gray, RGBA and 16-bit converted).

    Raises:
        ValueError: The file is missing, unreadable or not an image; the message names it.
    """
    from focus_mm.datasets.transforms.edge_prior import to_uint8_bgr

    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'cannot read image {path}: missing, corrupt or not an image format OpenCV reads')
    try:
        return to_uint8_bgr(img)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{path}: {err}') from err


class FocusInferencer:
    """Foreground segmentation of arbitrary images with a focus_mm (or any 1-channel mmseg) model.

    The config's ``test_pipeline`` (resize to the model's test scale, ``EdgePrior``, packing) is applied
    to each image, so the model sees exactly what it saw in testing; results come back at the original
    size.

    Args:
        config (str | Config): The model's config file or object.
        checkpoint (str, optional): Weights to load (strictly: every key must fit); with
            ``backend='onnxruntime'`` the ``.onnx`` file from ``tools/deployment/pytorch2onnx.py``.
        device (str): 'cpu', 'cuda', 'cuda:1'... Defaults to 'cpu'.
        batch_size (int): Images per forward pass. Defaults to 4.
        backend (str): ``'pytorch'`` or ``'onnxruntime'`` (CPU; same pipeline and outputs, see
            ``focus_mm.apis.onnx_backend``; a graph exported for one size gets every image resized to
            it). Defaults to 'pytorch'.

    Example:
        >>> inferencer = FocusInferencer('configs/focus/<config>.py', 'work_dirs/x/iter_2000.pth')
        >>> result = inferencer('photo.jpg')[0]
        >>> result.mask.shape == result.prob.shape
        True
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None, device: str = 'cpu',
                 batch_size: int = 4, backend: str = 'pytorch'):
        import focus_mm  # noqa: F401  (registers our modules)
        from mmseg.registry import MODELS

        cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.device = device
        self.batch_size = batch_size
        if backend == 'onnxruntime':
            from .onnx_backend import OnnxRuntimeSegmentor, resize_to_graph
            if checkpoint is None or device != 'cpu':
                raise ValueError('FocusInferencer(backend="onnxruntime") needs the .onnx file as checkpoint '
                                 f'and device="cpu", got checkpoint={checkpoint!r}, device={device!r}')
            self.model = OnnxRuntimeSegmentor(cfg, checkpoint)
            steps = self._inference_pipeline(cfg)
            self.pipeline = Compose(resize_to_graph(steps, self.model.fixed_shape)
                                    if self.model.fixed_shape else steps)
            return
        if backend != 'pytorch':
            raise ValueError(f"FocusInferencer: backend must be 'pytorch' or 'onnxruntime', got {backend!r}")
        # The checkpoint replaces any pretrained initialisation; the CLIP refiner is training-only.
        # One process: SyncBN becomes BN either way.
        if checkpoint is not None:
            self.model = build_offline_model(cfg.model)
        else:
            self.model = revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))
        if checkpoint is not None:
            load_model_checkpoint(self.model, checkpoint)
        self.model.to(device).eval()
        self.pipeline = Compose(self._inference_pipeline(cfg))

    @staticmethod
    def _inference_pipeline(cfg: Config) -> list:
        if 'test_pipeline' in cfg:
            steps = copy.deepcopy(cfg.test_pipeline)
        elif 'test_dataloader' in cfg:
            steps = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        else:
            raise ValueError('the config has no test_pipeline (nor test_dataloader.dataset.pipeline): '
                             'inference needs one to know the test resolution and the input format.')
        steps = [s for s in steps if s['type'] not in _ANNOTATION_LOADERS]
        if steps and steps[0]['type'] == 'LoadImageFromFile':
            steps[0] = dict(type='LoadImageFromNDArray')
        else:
            steps.insert(0, dict(type='LoadImageFromNDArray'))
        return steps

    def __call__(self, inputs: Union[ImageInput, Sequence[ImageInput]], batch_size: Optional[int] = None,
                 progress: bool = False) -> List[ForegroundPrediction]:
        """Predict every input.

        Args:
            inputs: An image path, an ``H x W x C`` array (BGR, uint8 or uint16, 1/3/4 channels), or a list.
            batch_size (int, optional): Overrides the constructor's.
            progress (bool): Show a progress bar.

        Returns:
            list[ForegroundPrediction]: One per input, in order.
        """
        if isinstance(inputs, (str, np.ndarray)):
            inputs = [inputs]
        return list(self.iter_predictions(inputs, batch_size=batch_size, progress=progress))

    def iter_predictions(self, inputs: Sequence[ImageInput], batch_size: Optional[int] = None,
                         progress: bool = False) -> Iterator[ForegroundPrediction]:
        """Yield predictions batch by batch (bounded memory for long folders)."""
        from mmengine.utils import ProgressBar

        bs = batch_size or self.batch_size
        bar = ProgressBar(len(inputs)) if progress else None
        for start in range(0, len(inputs), bs):
            chunk = inputs[start:start + bs]
            images = [read_image(x) if isinstance(x, str) else _array_to_bgr(x) for x in chunk]
            sources = [x if isinstance(x, str) else f'<array {start + i}>' for i, x in enumerate(chunk)]
            yield from self._predict_batch(images, sources)
            if bar is not None:
                for _ in chunk:
                    bar.update()

    @torch.no_grad()
    def _predict_batch(self, images: Iterable[np.ndarray], sources: List[str]) -> List[ForegroundPrediction]:
        packed = [self.pipeline(dict(img=img)) for img in images]
        # Images of different sizes go through the model separately: padding one to another's size
        # would change what a global-attention backbone sees, so a result would depend on its batch.
        by_shape = {}
        for i, item in enumerate(packed):
            by_shape.setdefault(tuple(item['inputs'].shape), []).append(i)
        samples = [None] * len(packed)
        for indices in by_shape.values():
            outputs = self.model.test_step(pseudo_collate([packed[i] for i in indices]))
            for i, out in zip(indices, outputs):
                samples[i] = out
        results = []
        for sample, source in zip(samples, sources):
            prob = sample.seg_logits.data[0].float().cpu().numpy()
            if prob.min() < 0 or prob.max() > 1:  # a 2-channel model's logits: not a probability
                raise ValueError('the model does not output a foreground probability (out_channels=1).')
            mask = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            results.append(ForegroundPrediction(mask=mask, prob=prob.astype(np.float32), source=source))
        return results


def _array_to_bgr(img: np.ndarray) -> np.ndarray:
    from focus_mm.datasets.transforms.edge_prior import to_uint8_bgr

    return to_uint8_bgr(img)
