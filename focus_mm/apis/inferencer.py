"""Run a trained model on people's images: ``FocusInferencer``, in the spirit of mmseg's MMSegInferencer."""
import copy
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from ..datasets.image_io import read_image
from ..datasets.transforms.edge_prior import to_uint8_bgr
from ..utils import build_offline_model
from .checkpoint import load_model_checkpoint
from .task_selection import check_graph_task, set_inference_task

ImageInput = Union[str, np.ndarray]

# Test-pipeline steps that need a ground truth; inference on a bare image drops them.
_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadForegroundMask')
# Test-pipeline steps that read the image file; inference reads it with `read_image` instead.
_IMAGE_LOADERS = ('LoadImageFromFile', 'LoadForegroundImage')


class NonFiniteOutputError(ValueError):
    """The model gave NaN or infinite values for an image (its ``source`` is in the message)."""

    def __init__(self, source: str, count: int):
        super().__init__(f'the model output holds {count} non-finite value(s) for {source}: no mask is '
                         'written. The checkpoint or the model has NaN/inf weights (check its training '
                         'log), or the input is broken.')
        self.source = source
        self.count = count


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


class FocusInferencer:
    """Foreground segmentation of arbitrary images with a focus_mm (or any 1-channel mmseg) model.

    The config's ``test_pipeline`` (resize to the model's test scale, ``EdgePrior``, packing) is applied
    to each image, so the model sees exactly what it saw in testing; results come back at the original
    size. Paths are read by :func:`focus_mm.datasets.image_io.read_image`, the decoder of the configs'
    ``LoadForegroundImage`` (EXIF orientation applied, GIFs read, truncated files refused), so an
    image gives the same pixels here as in ``tools/test.py``.

    Memory: everything heavy runs at the test size; only the final map is brought to the original
    size, as mmseg's ``postprocess_result`` does it (bilinear on the logits, then the sigmoid and the
    threshold) but in place: one float32 and one uint8 map per image (5 bytes per pixel).

    A model output with NaN or infinite values raises :class:`NonFiniteOutputError` naming the image
    (it would otherwise read as an all-background mask).

    Args:
        config (str | Config): The model's config file or object.
        checkpoint (str, optional): Weights to load (strictly: every key must fit); with
            ``backend='onnxruntime'`` the ``.onnx`` file from ``tools/deployment/pytorch2onnx.py``.
        device (str): 'cpu', 'cuda', 'cuda:1'... Defaults to 'cpu'.
        batch_size (int): Images per forward pass. Defaults to 4.
        backend (str): ``'pytorch'`` or ``'onnxruntime'`` (CPU; same pipeline and outputs, see
            ``focus_mm.apis.onnx_backend``; a graph exported for one size gets every image resized to
            it). Defaults to 'pytorch'.
        task (str, optional): The task to solve ('sod', 'cod', 'sd', 'dbd', 'fd'). A universal checkpoint
            needs one of the tasks it was trained for (the error lists them); a single-task checkpoint
            ignores it, with a warning when it differs from its own. Defaults to None.

    Example:
        >>> inferencer = FocusInferencer('configs/focus/<config>.py', 'work_dirs/x/iter_2000.pth')
        >>> result = inferencer('photo.jpg')[0]
        >>> result.mask.shape == result.prob.shape
        True
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None, device: str = 'cpu',
                 batch_size: int = 4, backend: str = 'pytorch', task: Optional[str] = None):
        import focus_mm  # noqa: F401  (registers our modules)
        from mmseg.registry import MODELS

        cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.device = device
        _check_batch_size(batch_size)
        self.batch_size = batch_size
        if backend == 'onnxruntime':
            from .onnx_backend import OnnxRuntimeSegmentor, resize_to_graph
            if checkpoint is None or device != 'cpu':
                raise ValueError('FocusInferencer(backend="onnxruntime") needs the .onnx file as checkpoint '
                                 f'and device="cpu", got checkpoint={checkpoint!r}, device={device!r}')
            self.model = OnnxRuntimeSegmentor(cfg, checkpoint)
            # A graph has no task input: a universal model's graph is one task's (its metadata says which).
            self.task = check_graph_task(self.model.task, task, checkpoint, cfg)
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
        loaded = load_model_checkpoint(self.model, checkpoint) if checkpoint is not None else None
        self.task = set_inference_task(self.model, task, loaded, cfg)
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
        if steps and steps[0]['type'] in _IMAGE_LOADERS:
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

        bs = self.batch_size if batch_size is None else batch_size
        _check_batch_size(bs)
        bar = ProgressBar(len(inputs)) if progress else None
        for start in range(0, len(inputs), bs):
            chunk = inputs[start:start + bs]
            images = [read_image(x) if isinstance(x, str) else to_uint8_bgr(x) for x in chunk]
            sources = [x if isinstance(x, str) else f'<array {start + i}>' for i, x in enumerate(chunk)]
            yield from self._predict_batch(images, sources)
            if bar is not None:
                for _ in chunk:
                    bar.update()

    def _predict_batch(self, images: Iterable[np.ndarray],
                       sources: List[str]) -> Iterator[ForegroundPrediction]:
        """Run the model on a batch at the test size, then yield the full-size results one at a time."""
        with torch.no_grad():
            packed = [self.pipeline(dict(img=img)) for img in images]
            # Images of different sizes go through the model separately: padding one to another's size
            # would change what a global-attention backbone sees, so a result would depend on its batch.
            by_shape = {}
            for i, item in enumerate(packed):
                by_shape.setdefault(tuple(item['inputs'].shape), []).append(i)
            small = [None] * len(packed)
            for indices in by_shape.values():
                group = pseudo_collate([packed[i] for i in indices])
                if not hasattr(self.model, 'inference'):  # not an EncoderDecoder: its own postprocessing
                    for i, sample in zip(indices, self.model.test_step(group)):
                        small[i] = sample
                    continue
                data = self.model.data_preprocessor(group, False)
                logits = self.model.inference(data['inputs'], [s.metainfo for s in data['data_samples']])
                for k, (i, sample) in enumerate(zip(indices, data['data_samples'])):
                    small[i] = (logits[k:k + 1], sample)
            del packed
        # Only now, one image at a time, the maps at the original size (the caller may drop each).
        for i, source in enumerate(sources):
            item, small[i] = small[i], None
            if not isinstance(item, tuple):
                yield self._from_sample(item, source)
            elif item[0].shape[1] == 1:  # one logit map: the lean path
                yield self._full_size(item[0], item[1].metainfo, source)
            else:  # e.g. decision_rule='scored_pair_merge' (2 maps): the model's own postprocessing
                with torch.no_grad():
                    sample = self.model.postprocess_result(item[0], [item[1]])[0]
                yield self._from_sample(sample, source)

    @torch.no_grad()
    def _full_size(self, logits: torch.Tensor, meta: dict, source: str) -> ForegroundPrediction:
        """One image's 1 x C x h x w logits to its original size: mmseg's ``postprocess_result``, lean.

        Same steps and the same operations (padding cropped, flip undone, ``F.interpolate`` bilinear on
        the logits, sigmoid, ``> threshold``), so the maps equal ``tools/test.py``'s, but the sigmoid
        runs in place and the mask is a uint8 view: 5 bytes per pixel instead of three float maps.
        """
        if logits.shape[1] != 1:
            raise ValueError('the model does not output a foreground probability (out_channels=1).')
        padding = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
        pad_left, pad_right, pad_top, pad_bottom = padding
        height, width = logits.shape[-2:]
        logits = logits[:, :, pad_top:height - pad_bottom, pad_left:width - pad_right]
        if meta.get('flip', False):
            logits = logits.flip(dims=(3, ) if meta.get('flip_direction') == 'horizontal' else (2, ))
        finite = torch.isfinite(logits)
        if not bool(finite.all()):  # checked on the small map: cheap, and before any upsampling
            raise NonFiniteOutputError(source, int((~finite).sum()))
        align_corners = getattr(self.model, 'align_corners', False)
        full = F.interpolate(logits.float(), size=tuple(meta['ori_shape'][:2]), mode='bilinear',
                             align_corners=align_corners)[0, 0].cpu()
        prob = full.sigmoid_().numpy()
        threshold = getattr(getattr(self.model, 'decode_head', None), 'threshold', None)
        mask = np.greater(prob, 0.5 if threshold is None else threshold).view(np.uint8)
        return ForegroundPrediction(mask=mask, prob=prob, source=source)

    @staticmethod
    def _from_sample(sample, source: str) -> ForegroundPrediction:
        prob = sample.seg_logits.data[0].float().cpu().numpy()
        if not np.isfinite(prob).all():
            raise NonFiniteOutputError(source, int((~np.isfinite(prob)).sum()))
        if prob.min() < 0 or prob.max() > 1:  # a 2-channel model's logits: not a probability
            raise ValueError('the model does not output a foreground probability (out_channels=1).')
        mask = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        return ForegroundPrediction(mask=mask, prob=prob.astype(np.float32, copy=False), source=source)


def _check_batch_size(batch_size) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}.')
