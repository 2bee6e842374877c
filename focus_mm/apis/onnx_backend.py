"""ONNX Runtime backend: an exported FOCUS graph behind the same ``test_step`` as the PyTorch model.

``FocusInferencer(cfg, 'model.onnx', backend='onnxruntime')`` and ``tools/infer.py --backend onnxruntime``
use it. The pre-processing is the config's own: the inferencer's test pipeline (image reader, resize,
``EdgePrior``), then the config's data preprocessor (BGR -> RGB, mean/std, padding); the post-processing
is mmseg's ``postprocess_result`` (crop the padding, resize to the original size, sigmoid, threshold).
Only the network runs in ONNX Runtime.
"""
import copy
import os
from types import SimpleNamespace
from typing import List, Optional, Tuple

import torch

from ..tasks import TASK_METADATA_KEY


def create_session(path: str, threads: Optional[int] = None):
    """An ``onnxruntime.InferenceSession`` on the CPU with ``threads`` intra-op threads.

    Args:
        path (str): The ``.onnx`` file.
        threads (int, optional): Intra-op threads; default torch's current thread count, so that both
            backends use the same number. Inter-op parallelism stays off (one graph branch at a time).

    Raises:
        ImportError: onnxruntime is missing (``pip install -e .[deploy]`` installs it).
        FileNotFoundError: ``path`` does not exist.
    """
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError('the onnxruntime backend needs the onnxruntime package: pip install -e ".[deploy]" '
                          '(tools/setup_env.sh installs it)') from err
    if not os.path.isfile(path):
        raise FileNotFoundError(f'ONNX model not found: {path}; export one with '
                                'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out model.onnx')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    # No busy-waiting between operators: spinning pool threads take the cores from the Python code
    # around the graph (pre-/post-processing, torch's own threads); measured on 2 cores, spinning made
    # a 2-thread session 2 x slower than a 1-thread one.
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


class OnnxRuntimeSegmentor:
    """An ONNX graph from ``tools/deployment/pytorch2onnx.py`` with the model's ``test_step`` interface.

    Args:
        cfg (Config): The config the graph was exported from (its ``model.data_preprocessor``,
            ``decode_head.align_corners`` and ``decode_head.threshold`` are used).
        path (str): The ``.onnx`` file.
        threads (int, optional): ONNX Runtime intra-op threads (default: torch's thread count).

    Attributes:
        fixed_shape (tuple | None): ``(H, W)`` when the graph was exported for one input size (the
            inferencer then resizes every image to it); None when height and width are dynamic.
        fixed_batch (int | None): The graph's batch size when fixed (images then run in chunks of it).
        task (str | None): The task of a universal model's graph (its ``focus_mm.task`` metadata: one
            graph per task); None for a single-task model's graph.
    """

    def __init__(self, cfg, path: str, threads: Optional[int] = None):
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS

        import focus_mm  # noqa: F401  (registers FocusDataPreProcessor)

        init_default_scope(cfg.get('default_scope', 'mmseg'))
        rule = (cfg.model.get('test_cfg') or {}).get('decision_rule', 'joint')
        if rule != 'joint':
            raise ValueError(f'the onnxruntime backend applies the joint decision rule only; the config '
                             f'asks for test_cfg.decision_rule={rule!r} (use the pytorch backend for it)')
        self.session = create_session(path, threads)
        self.path = path
        self.input_names = [i.name for i in self.session.get_inputs()]
        expected = (['image', 'edge'], ['image'])
        if self.input_names not in expected:
            raise ValueError(f'{path}: inputs {self.input_names}, expected image (+ edge): export it with '
                             'tools/deployment/pytorch2onnx.py')
        dims = self.session.get_inputs()[0].shape  # [B, 3, H, W]; str for dynamic axes
        self.fixed_batch = dims[0] if isinstance(dims[0], int) else None
        self.fixed_shape = tuple(dims[2:]) if all(isinstance(d, int) for d in dims[2:]) else None
        self.task = self.session.get_modelmeta().custom_metadata_map.get(TASK_METADATA_KEY)
        preprocessor = copy.deepcopy(cfg.model.data_preprocessor)
        if self.fixed_shape is not None:
            # A fixed graph takes exactly its size (the inferencer resizes to it): no size_divisor padding.
            preprocessor['test_cfg'] = dict(size=self.fixed_shape)
        self.data_preprocessor = MODELS.build(preprocessor)
        head = cfg.model.decode_head
        # What mmseg's postprocess_result (and FocusInferencer's lean copy of it) read from a segmentor.
        self.align_corners = head.get('align_corners', False)
        self.decode_head = SimpleNamespace(threshold=head.get('threshold', 0.5))

    @property
    def with_edge(self) -> bool:
        return 'edge' in self.input_names

    def run(self, inputs: torch.Tensor) -> torch.Tensor:
        """Normalised ``B x C x H x W`` (C = 6 with the edge input, else 3) -> ``B x 1 x H x W`` logits."""
        channels = 6 if self.with_edge else 3
        if inputs.dim() != 4 or inputs.shape[1] != channels:
            what = 'image + edge' if self.with_edge else 'image'
            raise ValueError(f'{self.path} takes {channels}-channel inputs ({what}), got '
                             f'{tuple(inputs.shape)}: use the config the graph was exported from')
        if self.fixed_shape is not None and tuple(inputs.shape[-2:]) != self.fixed_shape:
            raise ValueError(f'{self.path} was exported for {self.fixed_shape[0]}x{self.fixed_shape[1]} '
                             f'inputs, got {tuple(inputs.shape[-2:])}; FocusInferencer resizes images to the '
                             'graph size, or export with --shape H W for this size')
        step = self.fixed_batch or len(inputs)
        outputs = []
        for start in range(0, len(inputs), step):
            chunk = inputs[start:start + step].float().contiguous()
            feeds = {'image': chunk[:, :3].numpy()}
            if self.with_edge:
                feeds['edge'] = chunk[:, 3:6].numpy()
            outputs.append(torch.from_numpy(self.session.run(['logits'], feeds)[0]))
        return torch.cat(outputs)

    def inference(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """``EncoderDecoder.inference``'s contract: pre-processed inputs -> logits at the input size."""
        return self.run(inputs)

    def test_step(self, data: dict) -> list:
        """Pre-process, run the graph and post-process as ``BaseModel.test_step`` does.

        Args:
            data (dict): ``inputs`` (list of ``C x H x W`` uint8 tensors) and ``data_samples``, as the
                test pipeline packs them.

        Returns:
            list[SegDataSample]: with ``seg_logits`` (the foreground probability) and ``pred_sem_seg``
            at each image's original size.
        """
        from mmseg.models.segmentors import BaseSegmentor

        data = self.data_preprocessor(data, False)
        logits = self.run(data['inputs'])
        if not torch.isfinite(logits).all():
            paths = [s.metainfo.get('img_path', '?') for s in data['data_samples']]
            raise FloatingPointError(f'{self.path} produced non-finite logits for {paths}')
        return BaseSegmentor.postprocess_result(self, logits, data['data_samples'])


def quantize_dynamic_int8(src: str, dst: str) -> Tuple[int, int]:
    """Dynamic int8 quantisation (weights int8, activations quantised at run time) of an ONNX file.

    Returns:
        tuple[int, int]: the sizes in bytes of ``src`` and ``dst``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
    return os.path.getsize(src), os.path.getsize(dst)


def graph_input_shape(path: str) -> List:
    """``[B, C, H, W]`` of the graph's ``image`` input (str entries for dynamic axes)."""
    return create_session(path, threads=1).get_inputs()[0].shape


def resize_to_graph(steps: list, shape: Tuple[int, int]) -> list:
    """The test pipeline ``steps`` with its resize replaced by a resize to exactly ``shape`` (H, W).

    A graph exported for one size takes only that size: every image is resized to it (aspect ratio not
    kept) before ``EdgePrior``, and the result is resized back to the image's size as usual.
    """
    steps = copy.deepcopy(steps)
    fixed = dict(type='Resize', scale=(shape[1], shape[0]), keep_ratio=False)
    resize_types = ('Resize', 'RandomResize', 'ResizeShortestEdge')
    resizes = [i for i, s in enumerate(steps) if s['type'] in resize_types]
    if resizes:
        steps[resizes[0]] = fixed
        steps = [s for i, s in enumerate(steps) if i not in resizes[1:]]
    else:
        steps.insert(1, fixed)  # after the image loader
    return steps
