"""TorchScript and ONNX export of a segmentor's inference path (normalised input tensors -> logit map)."""
import warnings
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from ..tasks import TASK_METADATA_KEY, model_tasks


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


def export_torchscript(segmentor: nn.Module, input_shape: Tuple[int, int, int, int]) -> torch.jit.ScriptModule:
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
    """``image (B x 3 x H x W) [, edge (B x 3 x H x W)] -> logits (B x 1 x H x W)``, for ONNX.

    Both inputs are what ``FocusDataPreProcessor`` makes: RGB, normalised with the config's mean/std,
    padded; ``edge`` is the normalised edge-blended image (``EdgePrior``), present only when the model
    has the edge enhancer. ``sigmoid(logits)`` is the foreground probability; ``logits > 0`` the mask.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (e.g. ``FocusSegmentor``), in eval mode.
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor
        self.with_edge = model_has_edge_input(segmentor)

    @property
    def input_names(self) -> List[str]:
        return ['image', 'edge'] if self.with_edge else ['image']

    def forward(self, image: torch.Tensor, edge: Optional[torch.Tensor] = None) -> torch.Tensor:
        inputs = torch.cat((image, edge), dim=1) if self.with_edge else image
        shape = tuple(inputs.shape[-2:])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
                 ] * inputs.shape[0]
        return self.segmentor.encode_decode(inputs, metas)


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
                dynamic_batch: bool = False, dynamic_hw: bool = False, opset_version: int = 17,
                check: bool = True) -> List[str]:
    """Export the inference path to ONNX (the TorchScript-based exporter), M0 prior included.

    The M0 prior's eigendecomposition has no ONNX operator: inside the export it is computed by power
    iteration (:func:`focus_mm.models.utils.pca_prior.power_top_eigenvector`). mmcv's deformable
    attention runs its PyTorch path on the CPU (``grid_sample``: opset >= 16).

    Args:
        segmentor (nn.Module): The model (its weights loaded).
        path (str): Output ``.onnx`` file.
        shape (tuple): ``(H, W)`` of the exported input; a multiple of 32 needs no padding at run time.
        batch_size (int): Batch of the example input. Defaults to 1.
        dynamic_batch (bool): Mark the batch axis dynamic (the graph follows it). Defaults to False.
        dynamic_hw (bool): Mark height and width dynamic. The tracer still bakes shape-derived values
            (the deformable attention's level sizes, reference points, the position-embedding size,
            the M0 valid-token map) into constants, so the graph does not follow another size: check with
            :func:`onnx_parity` at another size (``tools/deployment/pytorch2onnx.py --dynamic`` does, and
            falls back to a dynamic batch only). Defaults to False.
        opset_version (int): Defaults to 17 (>= 16 for ``GridSample``).
        check (bool): Run ``onnx.checker.check_model`` on the file. Defaults to True.

    A universal model is exported for the task set by ``set_inference_task``; the file's metadata
    records it (``focus_mm.task``), and the ONNX Runtime backend reads it.

    Returns:
        list[str]: The graph's input names (``['image', 'edge']`` or ``['image']``).
    """
    from focus_mm.models.utils.pca_prior import prior_solver

    test_cfg = getattr(segmentor, 'test_cfg', None) or {}
    if test_cfg.get('decision_rule', 'joint') != 'joint':
        raise ValueError(f"export_onnx: test_cfg.decision_rule={test_cfg['decision_rule']!r} is not exported "
                         '(its binary rule lives in FocusSegmentor.postprocess_result); export with the '
                         'default joint rule: --cfg-options model.test_cfg.decision_rule=joint')
    task = exported_task(segmentor)
    if opset_version < 16:
        raise ValueError(f'export_onnx: opset_version={opset_version}; GridSample (deformable attention, '
                         'resampling) needs opset >= 16')
    # The wrapper in eval mode too: the exporter puts every module back into the wrapper's mode afterwards.
    wrapper = OnnxExportWrapper(segmentor).eval()
    h, w = shape
    args = tuple(torch.randn(batch_size, 3, h, w) for _ in wrapper.input_names)
    axes = {0: 'batch'} if dynamic_batch else {}
    if dynamic_hw:
        axes.update({2: 'height', 3: 'width'})
    dynamic_axes = {name: axes for name in wrapper.input_names + ['logits']} if axes else None
    with prior_solver('power'), torch.no_grad(), warnings.catch_warnings():
        # The tracer warns for every Python value read from a tensor (shape checks, level sizes): those
        # become constants, which is what a per-size export wants.
        warnings.simplefilter('ignore', category=torch.jit.TracerWarning)
        torch.onnx.export(wrapper, args, path, input_names=wrapper.input_names, output_names=['logits'],
                          opset_version=opset_version, dynamic_axes=dynamic_axes, dynamo=False)
    if task is not None:
        import onnx
        graph = onnx.load(path, load_external_data=False)
        onnx.helper.set_model_props(graph, {TASK_METADATA_KEY: task})
        onnx.save(graph, path)
    if check:
        import onnx
        onnx.checker.check_model(path, full_check=True)
    return wrapper.input_names


def onnx_parity(segmentor: nn.Module, path: str, shape: Tuple[int, int], batch_size: int = 1, seed: int = 0,
                threads: Optional[int] = None) -> Dict[str, float]:
    """Compare the ONNX file with the PyTorch model on a random normalised input of ``shape``.

    Args:
        segmentor (nn.Module): The model the file was exported from.
        path (str): The ``.onnx`` file.
        shape (tuple): ``(H, W)`` of the test input.
        batch_size (int): Defaults to 1.
        seed (int): Seed of the random input. Defaults to 0.
        threads (int, optional): ONNX Runtime intra-op threads (default: torch's thread count).

    Returns:
        dict: ``max_abs_diff`` (logits, PyTorch with the same power-iteration prior as the graph),
        ``mask_agreement`` (fraction of pixels with the same ``logit > 0``), and the same two against
        PyTorch's default eigh prior (``max_abs_diff_eigh``, ``mask_agreement_eigh``).
    """
    from focus_mm.models.utils.pca_prior import prior_solver
    from .onnx_backend import create_session

    wrapper = OnnxExportWrapper(segmentor).eval()
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(batch_size, 3, *shape, generator=gen) for _ in wrapper.input_names]
    session = create_session(path, threads=threads)
    feeds = {name: x.numpy() for name, x in zip(wrapper.input_names, inputs)}
    ort_logits = torch.from_numpy(session.run(['logits'], feeds)[0])
    result = {}
    for solver, suffix in (('power', ''), ('eigh', '_eigh')):
        with prior_solver(solver), torch.no_grad():
            ref = wrapper(*inputs)
        if ref.shape != ort_logits.shape:
            raise RuntimeError(f'onnx_parity: {path} returned {tuple(ort_logits.shape)}, PyTorch '
                               f'{tuple(ref.shape)} for inputs of {tuple(inputs[0].shape)}')
        result['max_abs_diff' + suffix] = (ref - ort_logits).abs().max().item()
        result['mask_agreement' + suffix] = ((ref > 0) == (ort_logits > 0)).float().mean().item()
    return result
