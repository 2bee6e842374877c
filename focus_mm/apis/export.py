"""TorchScript and ONNX export of a segmentor's inference path (normalised input tensors -> logit map)."""
import contextlib
import json
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..tasks import TASKS_METADATA_KEY, model_tasks


class LogitsExportWrapper(nn.Module):
    """``inputs (B x C x H x W, already normalised) -> B x out_channels x H x W logits``.

    The data preprocessing (BGR->RGB, normalisation, the edge prior) is not part of the graph: a
    deployment runs the test pipeline and ``FocusDataPreProcessor`` (or their equivalents) first.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (e.g. ``FocusSegmentor``).
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        shape = tuple(inputs.shape[-2:])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
                 ] * inputs.shape[0]
        return self.segmentor.encode_decode(inputs, metas)


def export_torchscript(segmentor: nn.Module,
                       input_shape: Tuple[int, int, int, int]) -> torch.jit.ScriptModule:
    """Trace the inference path at a fixed input shape.

    ``torch.export`` cannot be used: mmcv's deformable attention and the matcher-free inference path
    still branch on tensor values (shape assertions), which tracing records as constants for the traced
    shape. A traced module therefore serves exactly ``input_shape``; trace once per deployment size.

    Args:
        segmentor (nn.Module): The model, in eval mode.
        input_shape (tuple): ``(B, C, H, W)`` of the normalised input (C = 6 with the edge prior).

    Returns:
        torch.jit.ScriptModule: Call it with a tensor of ``input_shape``; save with ``.save(path)``.
    """
    exported_task(segmentor)  # a universal model is traced for its chosen task
    wrapper = LogitsExportWrapper(segmentor.eval())
    example = torch.zeros(input_shape)
    with torch.no_grad():
        return torch.jit.trace(wrapper, (example, ), check_trace=False)


def model_has_edge_input(segmentor: nn.Module) -> bool:
    """Whether the model reads the edge-blended image (a neck that drives the backbone with an edge
    branch, i.e. ``EdgeEnhancerNeck(with_edge=True)``): its input is then 6 channels, else 3."""
    neck = getattr(segmentor, 'neck', None)
    return bool(getattr(neck, 'drives_backbone', False) and getattr(neck, 'with_edge', False))


class OnnxExportWrapper(nn.Module):
    """``image [, edge] [, img_shape] [, task] -> logits (B x 1 x H x W)``, for ONNX.

    Inputs, in this order (``input_names``):

    - ``image`` (B x 3 x H x W, float): RGB, normalised with the config's mean/std and padded at the
      bottom/right, as ``FocusDataPreProcessor`` makes it.
    - ``edge`` (B x 3 x H x W, float), only with the edge enhancer: the normalised edge-blended image
      (``EdgePrior``), padded the same way.
    - ``img_shape`` (B x 2, int64), only with the M0 prior: each image's ``(height, width)`` inside the
      padded input (its metainfo ``img_shape``); the prior is computed on the image's own tokens.
    - ``task`` (B, int64), only for a universal model: each image's task, an index into the model's
      task list (the file's ``focus_mm.tasks`` metadata).

    ``sigmoid(logits)`` is the foreground probability; ``logits > 0`` the mask.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (e.g. ``FocusSegmentor``), in eval mode.
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor
        self.with_edge = model_has_edge_input(segmentor)
        head = getattr(segmentor, 'decode_head', None)
        self.with_img_shape = getattr(head, 'prior_index', None) is not None
        self.tasks = tuple(model_tasks(segmentor) or ())

    @property
    def input_names(self) -> List[str]:
        names = ['image'] + ['edge'] * self.with_edge + ['img_shape'] * self.with_img_shape
        return names + ['task'] * bool(self.tasks)

    def example_inputs(self, shape: Tuple[int, int], batch_size: int = 1,
                       generator: Optional[torch.Generator] = None, task: Optional[str] = None,
                       img_shape: Optional[Tuple[int, int]] = None) -> Tuple[torch.Tensor, ...]:
        """Random normalised images of ``shape``, the images' size (``img_shape``, default all of
        ``shape``) and ``task`` (default the model's ``inference_task``, else its first task)."""
        inputs = [torch.randn(batch_size, 3, *shape, generator=generator)]
        if self.with_edge:
            inputs.append(torch.randn(batch_size, 3, *shape, generator=generator))
        if self.with_img_shape:
            inputs.append(torch.tensor([list(img_shape or shape)] * batch_size, dtype=torch.long))
        if self.tasks:
            task = task or self.segmentor.decode_head.inference_task or self.tasks[0]
            inputs.append(torch.full((batch_size, ), self.tasks.index(task), dtype=torch.long))
        return tuple(inputs)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        named = dict(zip(self.input_names, inputs))
        image = named['image']
        images = torch.cat((image, named['edge']), dim=1) if self.with_edge else image
        shape = tuple(images.shape[-2:])  # traced sizes: the graph follows its input's height and width
        # one meta for the whole batch (the head reads the input size from it); the per-image values come
        # from the tensors below, so neither the batch size nor a task is fixed by the trace
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])]
        with self.segmentor.decode_head.batch_inputs(task_ids=named.get('task'),
                                                     img_shapes=named.get('img_shape')):
            return self.segmentor.encode_decode(images, metas)


@contextlib.contextmanager
def _traceable_deformable_attention() -> Iterator[None]:
    """mmcv's CPU deformable attention replaced by one that keeps its level sizes as computed values
    (:func:`focus_mm.models.utils.multi_scale_deformable_attn_traceable`), for the duration of an export.

    mmcv 2.1.0's ``multi_scale_deformable_attn_pytorch`` splits the value tokens with Python ints, which a
    trace records as constants; no mmcv 2.x release changes that. Drop this when mmcv's does.
    """
    from mmcv.ops import multi_scale_deform_attn

    from ..models.utils import multi_scale_deformable_attn_traceable

    original = multi_scale_deform_attn.multi_scale_deformable_attn_pytorch
    multi_scale_deform_attn.multi_scale_deformable_attn_pytorch = multi_scale_deformable_attn_traceable
    try:
        yield
    finally:
        multi_scale_deform_attn.multi_scale_deformable_attn_pytorch = original


def exported_task(segmentor: nn.Module) -> Optional[str]:
    """The task a universal model decodes (its head's ``inference_task``); None for a single-task model.

    Raises:
        ValueError: A universal model whose task is not chosen: a graph has no task input, so it is
            exported one task at a time.
    """
    tasks = model_tasks(segmentor)
    if not tasks:
        return None
    head = segmentor.decode_head
    if head.inference_task is None:
        raise ValueError('a universal model is exported one task at a time (the graph has no task input): '
                         'choose it with focus_mm.apis.set_inference_task(model, task) or '
                         f'tools/deployment/pytorch2onnx.py --task TASK; it knows the tasks {list(tasks)}.')
    return head.inference_task


def export_onnx(segmentor: nn.Module, path: str, shape: Tuple[int, int], batch_size: int = 1,
                dynamic_batch: bool = True, dynamic_hw: bool = True, opset_version: int = 17,
                check: bool = True) -> List[str]:
    """Export the inference path to ONNX (the TorchScript-based exporter), M0 prior included.

    Inputs and output are those of :class:`OnnxExportWrapper`. The graph computes every shape-derived
    value (deformable-attention level sizes and offsets, reference points, position encodings, the
    resized position-embedding table, the ViT's padding, the M0 prior's valid tokens) from its inputs'
    sizes and its ``img_shape`` input, so one graph serves any batch, height and width; a universal model's
    graph takes the task as its ``task`` input.

    Why the TorchScript-based exporter and not ``torch.export`` (``dynamo=True``): mmcv's deformable
    attention and mmpretrain's patch embedding read sizes into Python numbers, and the inference path
    branches on Python values; the tracer records such reads as constants, which the code here avoids at
    the few places that matter (the traced sizes are tensors), while ``torch.export`` needs every one of
    them rewritten as a symbolic-shape guard across three libraries.

    The M0 prior's eigendecomposition has no ONNX operator: inside the export it is computed by power
    iteration (:func:`focus_mm.models.utils.pca_prior.power_top_eigenvector`). mmcv's deformable
    attention runs its PyTorch path on the CPU (``GridSample``: opset >= 16).

    Args:
        segmentor (nn.Module): The model (its weights loaded).
        path (str): Output ``.onnx`` file.
        shape (tuple): ``(H, W)`` of the example input (with ``dynamic_hw=False``, the only size taken).
        batch_size (int): Batch of the example input. Defaults to 1.
        dynamic_batch (bool): Whether the batch axis is dynamic. Defaults to True.
        dynamic_hw (bool): Whether height and width are dynamic. Defaults to True. A fixed-size graph
            (``False``) lets ONNX Runtime fold the size arithmetic; ``docs/user_guides/deployment.md``
            says when to pick it.
        opset_version (int): Defaults to 17 (>= 16 for ``GridSample``).
        check (bool): Run ``onnx.checker.check_model`` on the file. Defaults to True.

    A universal model's task list is written to the file's metadata (``focus_mm.tasks``, JSON); the ONNX
    Runtime backend maps a task name to the ``task`` input with it.

    Returns:
        list[str]: The graph's input names (see :class:`OnnxExportWrapper`).
    """
    from focus_mm.models.utils.pca_prior import prior_solver

    test_cfg = getattr(segmentor, 'test_cfg', None) or {}
    if test_cfg.get('decision_rule', 'joint') != 'joint':
        raise ValueError(f"export_onnx: test_cfg.decision_rule={test_cfg['decision_rule']!r} is not exported "
                         '(its binary rule lives in FocusSegmentor.postprocess_result); export with the '
                         'default joint rule: --cfg-options model.test_cfg.decision_rule=joint')
    if opset_version < 16:
        raise ValueError(f'export_onnx: opset_version={opset_version}; GridSample (deformable attention, '
                         'resampling) needs opset >= 16')
    # The wrapper in eval mode too: the exporter puts every module back into the wrapper's mode afterwards.
    wrapper = OnnxExportWrapper(segmentor).eval()
    args = wrapper.example_inputs(tuple(shape), batch_size, generator=torch.Generator().manual_seed(0))
    axes = {}
    if dynamic_batch:
        axes.update({name: {0: 'batch'} for name in wrapper.input_names + ['logits']})
    if dynamic_hw:
        for name in ('image', 'edge', 'logits'):
            if name in wrapper.input_names + ['logits']:
                axes.setdefault(name, {}).update({2: 'height', 3: 'width'})
    with prior_solver('power'), _traceable_deformable_attention(), torch.no_grad(), \
            warnings.catch_warnings():
        # The tracer warns for every Python value read from a tensor (shape checks, the branches of the
        # inference path); the sizes the graph must follow stay tensors (see the docstring).
        warnings.simplefilter('ignore', category=torch.jit.TracerWarning)
        torch.onnx.export(wrapper, args, path, input_names=wrapper.input_names, output_names=['logits'],
                          opset_version=opset_version, dynamic_axes=axes or None, dynamo=False)
    if wrapper.tasks:
        import onnx
        graph = onnx.load(path, load_external_data=False)
        onnx.helper.set_model_props(graph, {TASKS_METADATA_KEY: json.dumps(list(wrapper.tasks))})
        onnx.save(graph, path)
    if check:
        import onnx
        onnx.checker.check_model(path, full_check=True)
    return wrapper.input_names


def onnx_parity(segmentor: nn.Module, path: str, shape: Tuple[int, int], batch_size: int = 1, seed: int = 0,
                threads: Optional[int] = None, task: Optional[str] = None,
                img_shape: Optional[Tuple[int, int]] = None) -> Dict[str, float]:
    """Compare the ONNX file with the PyTorch model on a random normalised input of ``shape``.

    The PyTorch side is the model's own inference path (``encode_decode`` with per-image metainfo), not
    the export wrapper, so the comparison covers what the wrapper passes as tensors too.

    Args:
        segmentor (nn.Module): The model the file was exported from.
        path (str): The ``.onnx`` file.
        shape (tuple): ``(H, W)`` of the test input.
        batch_size (int): Defaults to 1.
        seed (int): Seed of the random input. Defaults to 0.
        threads (int, optional): ONNX Runtime intra-op threads (default: torch's thread count).
        task (str, optional): The task of a universal model (default: its ``inference_task``, else its
            first task).
        img_shape (tuple, optional): The images' ``(H, W)`` inside the input (the rest is padding, as
            in a padded batch); default all of ``shape``.

    Returns:
        dict: ``max_abs_diff`` (logits, PyTorch with the same power-iteration prior as the graph),
        ``logit_scale`` (the largest absolute value the logits are computed from: PyTorch's logits and
        the head's last mask logits, whose log-sigmoids the fusion subtracts), ``mask_agreement``
        (fraction of pixels with the same ``logit > 0``), and the same two against PyTorch's default
        eigh prior (``max_abs_diff_eigh``, ``mask_agreement_eigh``).
    """
    from focus_mm.models.utils.pca_prior import prior_solver
    from .onnx_backend import create_session, run_session

    wrapper = OnnxExportWrapper(segmentor).eval()
    inputs = wrapper.example_inputs(tuple(shape), batch_size, torch.Generator().manual_seed(seed), task,
                                    img_shape)
    session = create_session(path, threads=threads)
    graph_inputs = [i.name for i in session.get_inputs()]
    if graph_inputs != wrapper.input_names:
        raise ValueError(f'{path} takes the inputs {graph_inputs}, the model {wrapper.input_names}: the file '
                         'was exported from another model (or by an older focus_mm); export it again with '
                         'tools/deployment/pytorch2onnx.py')
    feeds = {name: x.numpy() for name, x in zip(wrapper.input_names, inputs)}
    ort_logits = torch.from_numpy(run_session(session, feeds, path)[0])
    images = torch.cat(inputs[:1 + wrapper.with_edge], dim=1)
    size = tuple(img_shape or shape)
    metas = [dict(img_shape=size, ori_shape=size, pad_shape=tuple(shape), padding_size=[0, 0, 0, 0])
             for _ in range(batch_size)]
    head = segmentor.decode_head
    previous_task = getattr(head, 'inference_task', None)
    if wrapper.tasks:
        head.inference_task = wrapper.tasks[int(inputs[-1][0])]
    result = {}
    mask_scale = []  # the largest |mask logit| of the head's last prediction set (the fusion's inputs)
    head_forward = head.forward  # called directly by predict (no module hooks): wrapped for the run

    def recording_forward(*args, **kwargs):
        outputs = head_forward(*args, **kwargs)
        mask_scale.append(outputs[1][-1].abs().max().item())
        return outputs

    head.forward = recording_forward
    try:
        for solver, suffix in (('power', ''), ('eigh', '_eigh')):
            with prior_solver(solver), torch.no_grad():
                ref = segmentor.encode_decode(images, metas)
            if ref.shape != ort_logits.shape:
                raise RuntimeError(f'onnx_parity: {path} returned {tuple(ort_logits.shape)}, PyTorch '
                                   f'{tuple(ref.shape)} for inputs of {tuple(images.shape)}')
            result['max_abs_diff' + suffix] = (ref - ort_logits).abs().max().item()
            result['mask_agreement' + suffix] = ((ref > 0) == (ort_logits > 0)).float().mean().item()
            if solver == 'power':
                result['logit_scale'] = max([ref.abs().max().item()] + mask_scale[:1])
    finally:
        del head.forward  # the class's method again
        if wrapper.tasks:
            head.inference_task = previous_task
    return result
