"""ONNX Runtime backend: an exported FOCUS graph behind the same ``test_step`` as the PyTorch model.

``FocusInferencer(cfg, 'model.onnx', backend='onnxruntime')`` and ``tools/infer.py --backend onnxruntime``
use it. The pre-processing is the config's own: the inferencer's test pipeline (image reader, resize,
``EdgePrior``), then the config's data preprocessor (BGR -> RGB, mean/std, padding); the post-processing
is mmseg's ``postprocess_result`` (crop the padding, resize to the original size, sigmoid, threshold).
Only the network runs in ONNX Runtime.
"""
import copy
import json
import os
import re
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..tasks import TASK_METADATA_KEY, TASKS_METADATA_KEY

#: The graph inputs, in their order (each after ``image`` is present only when the model has it).
GRAPH_INPUTS = ('image', 'edge', 'img_shape', 'task')


class OnnxRuntimeError(RuntimeError):
    """ONNX Runtime refused a graph or failed in one of its nodes; the message names the file, the node,
    the cause and what to do."""


# "... running Reshape node. Name:'/neck/Reshape' Status Message: ..." in onnxruntime's messages
_NODE_PATTERN = re.compile(r"running (\w+) node\. Name:'([^']*)' Status Message: (.*)", re.S)


def explain_onnxruntime_error(err: Exception, path: str, feeds: Optional[Dict[str, np.ndarray]] = None,
                              doing: str = 'running') -> str:
    """Our message for an onnxruntime exception: the file, the failing node (operator and name), the
    cause in one line, the inputs' shapes, and what to do."""
    text = str(err).strip()
    shapes = ', '.join(f'{k} {tuple(v.shape)}' for k, v in (feeds or {}).items())
    match = _NODE_PATTERN.search(text)
    if match:
        op, node, cause = match.group(1), match.group(2), match.group(3)
        cause = cause.strip().splitlines()[0]
        cause = cause.split(' ', 1)[1] if re.match(r'^/\S+:\d+ ', cause) else cause  # drop the source line
        where = f"node '{node}' ({op})"
    else:
        where = 'the graph'
        cause = re.sub(r'^\[ONNXRuntimeError\] : \d+ : \w+ : ', '', text).splitlines()[0]
    shape_problem = (any(word in cause.lower() for word in ('shape', 'dimension'))
                     or where.endswith(('(Reshape)', '(Split)', '(Expand)')))
    what = ('the graph was exported for another input size or batch (a fixed graph): export it again with '
            'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out FILE (dynamic batch, height and '
            'width by default), or feed it the size it was exported for'
            if shape_problem else
            'check that the file was exported by tools/deployment/pytorch2onnx.py from this config, with '
            'the onnxruntime version of setup.cfg (pip install -e ".[deploy]"); if it was, report the node '
            'with the command that made the file')
    inputs = f' for inputs {shapes}' if shapes else ''
    return f'{path}: ONNX Runtime failed {doing} {where}{inputs}: {cause}. What to do: {what}.'


def run_session(session, feeds: Dict[str, np.ndarray], path: str) -> list:
    """``session.run(None, feeds)`` with onnxruntime's failures raised as :class:`OnnxRuntimeError`
    (see :func:`explain_onnxruntime_error`)."""
    try:
        return session.run(None, feeds)
    except Exception as err:  # onnxruntime's own types (Fail, InvalidArgument, RuntimeException...)
        if type(err).__module__.startswith('onnxruntime'):
            raise OnnxRuntimeError(explain_onnxruntime_error(err, path, feeds)) from None
        raise


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
    # onnxruntime's own log lines would repeat a failure as raw text; run_session raises it as ours
    options.log_severity_level = 4
    try:
        return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    except Exception as err:
        if type(err).__module__.startswith('onnxruntime'):
            raise OnnxRuntimeError(explain_onnxruntime_error(err, path, doing='loading')) from None
        raise


class OnnxRuntimeSegmentor:
    """An ONNX graph from ``tools/deployment/pytorch2onnx.py`` with the model's ``test_step`` interface.

    Args:
        cfg (Config): The config the graph was exported from (its ``model.data_preprocessor``,
            ``decode_head.align_corners`` and ``decode_head.threshold`` are used).
        path (str): The ``.onnx`` file.
        threads (int, optional): ONNX Runtime intra-op threads (default: torch's thread count).
        task (str, optional): The task to decode with a universal model's graph (one of its
            ``tasks``; required there). A single-task graph ignores it (with a warning when it differs
            from the config's task).

    Attributes:
        fixed_shape (tuple | None): ``(H, W)`` when the graph was exported for one input size
            (``--fixed``: the inferencer then resizes every image to it); None when height and width are
            dynamic.
        fixed_batch (int | None): The graph's batch size when fixed (images then run in chunks of it).
        tasks (tuple): A universal graph's task list (its ``task`` input indexes it); empty otherwise.
        task (str | None): The task decoded (None for a single-task graph).
    """

    def __init__(self, cfg, path: str, threads: Optional[int] = None, task: Optional[str] = None):
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS

        import focus_mm  # noqa: F401  (registers FocusDataPreProcessor)
        from .task_selection import check_graph_task

        init_default_scope(cfg.get('default_scope', 'mmseg'))
        rule = (cfg.model.get('test_cfg') or {}).get('decision_rule', 'joint')
        if rule != 'joint':
            raise ValueError(f'the onnxruntime backend applies the joint decision rule only; the config '
                             f'asks for test_cfg.decision_rule={rule!r} (use the pytorch backend for it)')
        self.session = create_session(path, threads)
        self.path = path
        self.input_names = [i.name for i in self.session.get_inputs()]
        if self.input_names[:1] != ['image'] or [n for n in GRAPH_INPUTS if n in self.input_names] != \
                self.input_names:
            raise ValueError(f'{path}: inputs {self.input_names}, expected image [, edge] [, img_shape] '
                             '[, task]: export it with tools/deployment/pytorch2onnx.py')
        dims = self.session.get_inputs()[0].shape  # [B, 3, H, W]; str for dynamic axes
        self.fixed_batch = dims[0] if isinstance(dims[0], int) else None
        self.fixed_shape = tuple(dims[2:]) if all(isinstance(d, int) for d in dims[2:]) else None
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.tasks = tuple(json.loads(metadata[TASKS_METADATA_KEY])) if 'task' in self.input_names else ()
        # a graph without task input exported for one task of a universal model (its metadata says which)
        self.task = check_graph_task(metadata.get(TASK_METADATA_KEY), task, path, cfg, graph_tasks=self.tasks)
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

    def run(self, inputs: torch.Tensor,
            img_shapes: Optional[Sequence[Tuple[int, int]]] = None) -> torch.Tensor:
        """Normalised ``B x C x H x W`` (C = 6 with the edge input, else 3) -> ``B x 1 x H x W`` logits.

        Args:
            inputs (Tensor): The data preprocessor's output.
            img_shapes (Sequence[tuple], optional): Each image's ``(H, W)`` inside the padded input (its
                metainfo ``img_shape``), for the M0 prior; default the whole input.
        """
        channels = 6 if self.with_edge else 3
        if inputs.dim() != 4 or inputs.shape[1] != channels:
            what = 'image + edge' if self.with_edge else 'image'
            raise ValueError(f'{self.path} takes {channels}-channel inputs ({what}), got '
                             f'{tuple(inputs.shape)}: use the config the graph was exported from')
        if self.fixed_shape is not None and tuple(inputs.shape[-2:]) != self.fixed_shape:
            raise ValueError(f'{self.path} was exported for {self.fixed_shape[0]}x{self.fixed_shape[1]} '
                             f'inputs, got {tuple(inputs.shape[-2:])}; FocusInferencer resizes images to the '
                             'graph size, or export a dynamic graph (without --fixed)')
        if img_shapes is None:
            img_shapes = [tuple(inputs.shape[-2:])] * len(inputs)
        sizes = np.array([[int(s[0]), int(s[1])] for s in img_shapes], dtype=np.int64).reshape(-1, 2)
        step = self.fixed_batch or len(inputs)
        outputs = []
        for start in range(0, len(inputs), step):
            chunk = inputs[start:start + step].float().contiguous()
            feeds = {'image': chunk[:, :3].numpy()}
            if self.with_edge:
                feeds['edge'] = chunk[:, 3:6].numpy()
            if 'img_shape' in self.input_names:
                feeds['img_shape'] = sizes[start:start + step]
            if 'task' in self.input_names:
                feeds['task'] = np.full(len(chunk), self.tasks.index(self.task), dtype=np.int64)
            outputs.append(torch.from_numpy(run_session(self.session, feeds, self.path)[0]))
        return torch.cat(outputs)

    def inference(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """``EncoderDecoder.inference``'s contract: pre-processed inputs -> logits at the input size."""
        return self.run(inputs, [tuple(m['img_shape'][:2]) for m in batch_img_metas])

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
        logits = self.inference(data['inputs'], [s.metainfo for s in data['data_samples']])
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
