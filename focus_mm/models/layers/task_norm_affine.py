"""Per-task scale and shift of a CNN's batch-norm outputs: one shared CNN, task-specific features."""
import contextlib
import functools
from typing import Iterator, List, Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class TaskNormAffine(nn.Module):
    """Task-specific affine of every batch-norm layer of a shared CNN.

    A universal model whose tasks pull a shared CNN in opposite directions (``task_gradients.py``
    measures it) can let each task rescale and shift the CNN's normalised channels: the output of each
    ``_BatchNorm`` ``y`` becomes ``y * (1 + scale[t]) + shift[t]`` for a sample of task ``t``, before the
    ReLU / residual sum that follows it, so every later layer sees task-specific activations while all
    convolutions stay shared (domain-specific BN affine parameters: Bilen & Vedaldi 2017, "Universal
    representations"; Mudrakarta et al. 2019, "K for the price of 1"). The running statistics stay shared.

    The CNN is not wrapped: forward hooks on its norm layers apply the affine, so its state-dict keys
    (and the loading of pretrained weights into it) are unchanged. ``scale`` and ``shift`` are
    ``nn.Embedding`` s (no weight decay under the embedding rule of ``FocusOptimWrapperConstructor``),
    zero-initialised: before training the CNN computes exactly its shared function.

    Args:
        cnn (nn.Module): The shared CNN; its ``_BatchNorm`` layers (in ``modules()`` order) are modulated.
        num_tasks (int): Number of tasks.

    Example:
        >>> affine = TaskNormAffine(resnet, num_tasks=5)
        >>> with affine.tasks(task_ids):  # LongTensor, one task index per sample
        ...     feats = resnet(images)
    """

    def __init__(self, cnn: nn.Module, num_tasks: int):
        super().__init__()
        norms = [m for m in cnn.modules() if isinstance(m, _BatchNorm)]
        if not norms:
            raise ValueError(f'TaskNormAffine: {type(cnn).__name__} has no batch-norm layer to modulate')
        if num_tasks < 1:
            raise ValueError(f'TaskNormAffine: num_tasks must be >= 1, got {num_tasks}')
        self.channels: List[int] = [m.num_features for m in norms]
        total = sum(self.channels)
        # built at zero (no random init drawn: the rest of the model initialises as without it)
        self.scale = nn.Embedding(num_tasks, total, _weight=torch.zeros(num_tasks, total))
        self.shift = nn.Embedding(num_tasks, total, _weight=torch.zeros(num_tasks, total))
        self._task_ids: Optional[torch.Tensor] = None
        start = 0
        for norm, channels in zip(norms, self.channels):
            norm.register_forward_hook(functools.partial(self._modulate, slice(start, start + channels)))
            start += channels

    def reset_parameters(self) -> None:
        """Zero scale and shift: every task starts from the shared CNN."""
        nn.init.zeros_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    @contextlib.contextmanager
    def tasks(self, task_ids: torch.Tensor) -> Iterator[None]:
        """Run the CNN inside this block with one task index per sample (``B`` long tensor)."""
        if task_ids.dim() != 1:
            raise ValueError(f'TaskNormAffine: task_ids must be a 1-D tensor, got {tuple(task_ids.shape)}')
        self._task_ids = task_ids
        try:
            yield
        finally:
            self._task_ids = None

    def _modulate(self, channels: slice, module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor:
        if self._task_ids is None:
            raise RuntimeError('TaskNormAffine: the task-conditioned CNN was run without task ids; run it '
                               'inside `with affine.tasks(task_ids):`')
        if output.shape[0] != self._task_ids.shape[0]:
            raise ValueError(f'TaskNormAffine: {self._task_ids.shape[0]} task ids for a batch of '
                             f'{output.shape[0]}')
        extra = (None, ) * (output.dim() - 2)
        # only this layer's columns are gathered (B x C), not every layer's (B x all channels) per layer;
        # shaped by indexing, not by a view to output.shape, which an ONNX trace would record as the
        # example's batch size (a universal graph must take any batch)
        scale = self.scale.weight[self._task_ids, channels][(..., *extra)]
        shift = self.shift.weight[self._task_ids, channels][(..., *extra)]
        return output * (1 + scale.to(output.dtype)) + shift.to(output.dtype)
