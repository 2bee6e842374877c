"""Run a trained model on people's images: ``FocusInferencer``, an mmengine ``BaseInferencer``.

One job: the inferencer's construction and its four steps (inputs read and batched, the forward, the
overlays, the results). The full-size results themselves are made in :mod:`.foreground_prediction`, the
ONNX Runtime model in :mod:`.onnx_backend`.
"""
import copy
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from ..datasets.image_io import list_images, read_image
from ..datasets.transforms.edge_prior import to_uint8_bgr
from ..registry import INFERENCERS
from ..utils import build_offline_model, overlay_mask
from .checkpoint import load_model_checkpoint
from .foreground_prediction import (SOURCE_KEY, ForegroundPrediction, full_size_prediction,
                                    prediction_from_sample)
from .task_selection import set_inference_task

ImageInput = Union[str, np.ndarray]

# Test-pipeline steps that need a ground truth; inference on a bare image drops them.
_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadForegroundMask')
# Test-pipeline steps that read the image file; inference reads it with `read_image` instead.
_IMAGE_LOADERS = ('LoadImageFromFile', 'LoadForegroundImage')


@INFERENCERS.register_module()
class FocusInferencer(BaseInferencer):
    """Foreground segmentation of arbitrary images with a focus_mm (or any 1-channel mmseg) model.

    The steps are mmengine's: :meth:`preprocess` reads each image (:func:`focus_mm.datasets.image_io.
    read_image`, the decoder of the configs' ``LoadForegroundImage``: EXIF orientation applied, GIFs
    read, truncated files refused) and runs the config's ``test_pipeline`` on it, so the model sees
    exactly what it saw in testing; :meth:`forward` runs the model at the test size; :meth:`visualize`
    draws the foreground on the image when asked; :meth:`postprocess` brings each result to its image's
    original size. The keyword arguments of a call go to the step that names them (``visualize_kwargs``,
    ``postprocess_kwargs``), as in mmseg's ``MMSegInferencer``.

    Memory: everything heavy runs at the test size; only the final map is brought to the original
    size, as mmseg's ``postprocess_result`` does it (bilinear on the logits, then the sigmoid and the
    threshold) but in place: one float32 and one uint8 map per image (5 bytes per pixel).
    :meth:`iter_predictions` brings one image at a time to full size, for long folders.

    A model output with NaN or infinite values raises
    :class:`~focus_mm.apis.foreground_prediction.NonFiniteOutputError` naming the image (it would otherwise
    read as an all-background mask).

    The class is registered in ``focus_mm.registry.INFERENCERS`` (scope ``focus_mm``):
    ``INFERENCERS.build(dict(type='focus_mm.FocusInferencer', config=..., checkpoint=...))``.

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

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'return_vis', 'opacity'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 batch_size: int = 4,
                 backend: str = 'pytorch',
                 task: Optional[str] = None):
        import focus_mm  # noqa: F401  (registers our modules)

        cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
        scope = cfg.get('default_scope', 'mmseg')
        init_default_scope(scope)
        _check_batch_size(batch_size)
        if backend not in ('pytorch', 'onnxruntime'):
            raise ValueError(f"FocusInferencer: backend must be 'pytorch' or 'onnxruntime', got {backend!r}")
        if backend == 'onnxruntime' and (checkpoint is None or device != 'cpu'):
            raise ValueError('FocusInferencer(backend="onnxruntime") needs the .onnx file as checkpoint '
                             f'and device="cpu", got checkpoint={checkpoint!r}, device={device!r}')
        self.batch_size = batch_size
        self.backend = backend
        self.device = device
        self._requested_task = task
        # BaseInferencer builds the model (_init_model), the pipeline, the collate function and the
        # visualizer, in this order.
        super().__init__(model=cfg, weights=checkpoint, device=device, scope=scope, show_progress=False)

    # ------------------------------------------------------------------------------------------------
    # Construction (BaseInferencer's hooks)
    # ------------------------------------------------------------------------------------------------
    def _init_model(self, cfg: ConfigDict, weights: Optional[str], device: str = 'cpu'):
        """The PyTorch model with its weights loaded strictly, or the ONNX Runtime session's wrapper.

        Also sets :attr:`task` (the task the model decodes; None for a single-task model).
        """
        if self.backend == 'onnxruntime':
            from .onnx_backend import OnnxRuntimeSegmentor
            # A universal model's graph takes the task as an input (its metadata lists the tasks).
            model = OnnxRuntimeSegmentor(cfg, weights, task=self._requested_task)
            self.task = model.task
            return model
        from mmseg.registry import MODELS

        # The checkpoint replaces any pretrained initialisation; the CLIP refiner is training-only.
        # One process: SyncBN becomes BN either way.
        if weights is not None:
            model = build_offline_model(cfg.model)
        else:
            model = revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))
        loaded = load_model_checkpoint(model, weights) if weights is not None else None
        self.task = set_inference_task(model, self._requested_task, loaded, cfg)
        model.cfg = cfg
        return model.to(device).eval()

    def _init_pipeline(self, cfg: ConfigDict) -> Compose:
        """The config's test pipeline for an image array: annotation loaders dropped, the file loader
        replaced by ``LoadImageFromNDArray``; for a fixed-size ONNX graph, a resize to the graph's size."""
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
        fixed_shape = getattr(self.model, 'fixed_shape', None)
        if fixed_shape:
            from .onnx_backend import resize_to_graph
            steps = resize_to_graph(steps, fixed_shape)
        return Compose(steps)

    def _init_collate(self, cfg: ConfigDict):
        # Each image is packed alone; forward() groups the images of one size (see there).
        return pseudo_collate

    def _init_visualizer(self, cfg: ConfigDict) -> None:
        # The overlay is drawn by focus_mm.utils.overlay_mask: no mmengine Visualizer instance
        # (a global, named object) is created per inferencer.
        return None

    # ------------------------------------------------------------------------------------------------
    # The four steps
    # ------------------------------------------------------------------------------------------------
    def __call__(self,
                 inputs: Union[ImageInput, Sequence[ImageInput]],
                 batch_size: Optional[int] = None,
                 progress: bool = False,
                 return_datasamples: bool = False,
                 **kwargs) -> list:
        """Predict every input.

        Args:
            inputs (str | np.ndarray | list): An image path, a folder (its images, sorted), an
                ``H x W x C`` array (BGR, uint8 or uint16, 1/3/4 channels), or a list of paths and arrays.
            batch_size (int, optional): Overrides the constructor's.
            progress (bool): Show a progress bar.
            return_datasamples (bool): Return mmseg ``SegDataSample`` objects (``seg_logits`` holding
                the probability, ``pred_sem_seg`` the mask, at the original size) instead of
                :class:`ForegroundPrediction`. Defaults to False.
            **kwargs: ``return_vis`` (bool: fill each prediction's ``overlay``) and ``opacity`` (float:
                the tint's opacity, default 0.5), passed to :meth:`visualize`.

        Returns:
            list[ForegroundPrediction] | list[SegDataSample]: One per input, in order.
        """
        batch_size = self.batch_size if batch_size is None else batch_size
        _check_batch_size(batch_size)
        self.show_progress = progress
        return super().__call__(inputs, return_datasamples=return_datasamples, batch_size=batch_size,
                                **kwargs)

    def iter_predictions(self,
                         inputs: Union[ImageInput, Sequence[ImageInput]],
                         batch_size: Optional[int] = None,
                         progress: bool = False) -> Iterator[ForegroundPrediction]:
        """Yield predictions one by one: bounded memory for long folders.

        Each batch runs at the test size; its results are brought to full size one image at a time,
        when the caller asks for the next.

        Args:
            inputs (str | np.ndarray | list): As for :meth:`__call__`.
            batch_size (int, optional): Overrides the constructor's.
            progress (bool): Show a progress bar.

        Yields:
            ForegroundPrediction: One per input, in order.
        """
        from mmengine.utils import ProgressBar

        batch_size = self.batch_size if batch_size is None else batch_size
        _check_batch_size(batch_size)
        inputs = self._inputs_to_list(inputs)
        bar = ProgressBar(len(inputs)) if progress else None
        for data in self.preprocess(inputs, batch_size=batch_size):
            preds = self.forward(data)
            for i in range(len(preds)):
                pred, preds[i] = preds[i], None  # the caller may drop each full-size result
                yield self.postprocess([pred])[0]
                if bar is not None:
                    bar.update()

    def _inputs_to_list(self, inputs) -> list:
        """A folder becomes its images (sorted); a single path or array a list of one."""
        if isinstance(inputs, str) and osp.isdir(inputs):
            return list_images(inputs)
        if isinstance(inputs, (str, np.ndarray)):
            return [inputs]
        return list(inputs)

    def preprocess(self, inputs: list, batch_size: int = 1, **kwargs) -> Iterator[dict]:
        """Read each input and run the test pipeline on it; yield batches of ``batch_size``.

        Args:
            inputs (list): Paths and arrays.
            batch_size (int): Images per batch. Defaults to 1.

        Yields:
            dict: ``inputs`` and ``data_samples`` (pseudo-collated); each sample's metainfo names its
            input under ``source``.
        """
        for chunk in self._get_chunk_data(enumerate(inputs), batch_size):
            packed = []
            for index, item in chunk:
                image = read_image(item) if isinstance(item, str) else to_uint8_bgr(item)
                data = self.pipeline(dict(img=image))
                data['data_samples'].set_metainfo({SOURCE_KEY: item if isinstance(item, str) else
                                                   f'<array {index}>'})
                packed.append(data)
            yield self.collate_fn(packed)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """Run the model on one batch, at the test size.

        Images of different sizes go through the model separately: padding one to another's size would
        change what a global-attention backbone sees, so a result would depend on its batch.

        Args:
            inputs (dict): A batch from :meth:`preprocess`.

        Returns:
            list: Per image, in order, ``(logits, data_sample)`` (``1 x C x h x w`` logits at the input
            size, brought to full size by :meth:`postprocess`) for an ``EncoderDecoder``, or the model's
            own ``test_step`` result (a full-size ``SegDataSample``) for other models.
        """
        by_shape = {}
        for i, image in enumerate(inputs['inputs']):
            by_shape.setdefault(tuple(image.shape), []).append(i)
        preds = [None] * len(inputs['inputs'])
        for indices in by_shape.values():
            group = dict(inputs=[inputs['inputs'][i] for i in indices],
                         data_samples=[inputs['data_samples'][i] for i in indices])
            if not hasattr(self.model, 'inference'):  # not an EncoderDecoder: its own postprocessing
                for i, sample in zip(indices, self.model.test_step(group)):
                    preds[i] = sample
                continue
            data = self.model.data_preprocessor(group, False)
            logits = self.model.inference(data['inputs'], [s.metainfo for s in data['data_samples']])
            for k, (i, sample) in enumerate(zip(indices, data['data_samples'])):
                preds[i] = (logits[k:k + 1], sample)
        return preds

    def visualize(self,
                  inputs: list,
                  preds: list,
                  return_vis: bool = False,
                  opacity: float = 0.5) -> Optional[List[np.ndarray]]:
        """The images with their foreground tinted (:func:`focus_mm.utils.overlay_mask`).

        Drawing needs the full-size mask: the entries of ``preds`` are replaced by their full-size
        :class:`ForegroundPrediction` here (so :meth:`postprocess` does not compute them twice).

        Args:
            inputs (list): The inputs (paths and arrays), as given to :meth:`preprocess`.
            preds (list): :meth:`forward`'s results, in the same order.
            return_vis (bool): Draw the overlays. Defaults to False (nothing is drawn).
            opacity (float): Opacity of the tint. Defaults to 0.5.

        Returns:
            list[np.ndarray] | None: One ``H x W x 3`` BGR image per input, or None.
        """
        if not return_vis:
            return None
        overlays = []
        for i, (item, pred) in enumerate(zip(inputs, preds)):
            preds[i] = self._to_prediction(pred)
            image = read_image(item) if isinstance(item, str) else to_uint8_bgr(item)
            overlays.append(overlay_mask(image, preds[i].mask, opacity))
        return overlays

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]] = None,
                    return_datasamples: bool = False,
                    **kwargs) -> list:
        """Each result at its image's original size.

        Args:
            preds (list): :meth:`forward`'s results (or, after :meth:`visualize`, full-size predictions).
            visualization (list[np.ndarray], optional): :meth:`visualize`'s overlays.
            return_datasamples (bool): Return ``SegDataSample`` objects (mmseg's own post-processing)
                instead of :class:`ForegroundPrediction`. Defaults to False.

        Returns:
            list[ForegroundPrediction] | list[SegDataSample]: One per input, in order.
        """
        if return_datasamples:
            return [self._to_datasample(pred) for pred in preds]
        results = [self._to_prediction(pred) for pred in preds]
        for result, image in zip(results, visualization or ()):
            result.overlay = image
        return results

    # ------------------------------------------------------------------------------------------------
    # Full-size results
    # ------------------------------------------------------------------------------------------------
    def _to_prediction(self, pred) -> ForegroundPrediction:
        if isinstance(pred, ForegroundPrediction):
            return pred
        if not isinstance(pred, tuple):
            return prediction_from_sample(pred)
        logits, sample = pred
        if logits.shape[1] == 1:  # one logit map: the lean path
            threshold = getattr(getattr(self.model, 'decode_head', None), 'threshold', None)
            return full_size_prediction(logits, sample.metainfo, getattr(self.model, 'align_corners', False),
                                        threshold)
        # e.g. two maps (test_cfg.decision_rule other than the joint one): the model's own postprocessing
        return prediction_from_sample(self._to_datasample(pred))

    @torch.no_grad()
    def _to_datasample(self, pred):
        if isinstance(pred, ForegroundPrediction):
            raise ValueError('return_datasamples=True cannot be combined with return_vis=True')
        if not isinstance(pred, tuple):
            return pred
        return self.model.postprocess_result(pred[0], [pred[1]])[0]


def _check_batch_size(batch_size) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}.')
