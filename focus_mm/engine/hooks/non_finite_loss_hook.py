"""Stop training at the first non-finite loss, before the optimiser touches a weight."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term of a training iteration is NaN or infinite (raised by :class:`NonFiniteLossHook`)."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise at the first NaN/Inf loss term, naming the iteration and the term, before any update.

    mmengine 0.10.7 has no such check: its hooks run before the forward (``before_train_iter``) and
    after ``optimizer.step`` (``after_train_iter``), and ``OptimWrapper`` only offers a gradient-norm
    check through ``clip_grad``, which knows neither the loss term nor the iteration. Between the forward
    and the update there is no hook point, so this hook registers a PyTorch forward hook on the model
    (public ``nn.Module.register_forward_hook`` API, removed again after the run). It sees the loss dict
    that ``model(..., mode='loss')`` returns, before ``parse_losses``, ``backward`` and
    ``optim_wrapper.update_params``; a non-finite term raises :class:`NonFiniteLossError`, so that
    iteration's ``optimizer.step`` never runs and the weights stay those of the previous iteration.

    Checked are the entries whose key contains ``'loss'`` (what mmengine's ``parse_losses`` sums into
    the loss it back-propagates); other logged values (accuracies) do not reach the weights. A term that
    is a list of tensors is checked element by element.

    Mixed precision (``AmpOptimWrapper``): the check sees the unscaled loss, so it behaves the same. A
    non-finite loss is an error under AMP too (``GradScaler`` would skip such a step and lower its scale
    over and over, training nothing). Non-finite *gradients* from fp16 overflow with a finite loss are
    left to ``GradScaler`` (it skips that step and lowers the scale), which is AMP's design, not an error.

    Every focus_mm config has this hook (``custom_hooks`` in ``configs/_base_/default_runtime.py``); a
    config that sets its own ``custom_hooks`` must list it again.
    The check costs one device synchronisation per iteration (the logger reads the losses anyway).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._handle = None
        self._iteration: Optional[int] = None  # 1-based, as the log's Iter(train) [k/N]

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._handle = model.register_forward_hook(self._check, with_kwargs=True)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._iteration = runner.iter + 1

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._iteration = None  # forwards outside a training iteration (validation) are not checked

    def after_train(self, runner) -> None:
        self._remove()

    def after_run(self, runner) -> None:
        self._remove()

    def _remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _check(self, module, args, kwargs, output) -> None:
        if self._iteration is None or kwargs.get('mode') != 'loss' or not isinstance(output, dict):
            return
        terms = [(name, v) for name, value in output.items() if 'loss' in name
                 for v in (value if isinstance(value, (list, tuple)) else [value])]
        tensors = [torch.isfinite(v).all() for _, v in terms if isinstance(v, torch.Tensor)]
        if all(math.isfinite(v) for _, v in terms if not isinstance(v, torch.Tensor)) and \
                (not tensors or bool(torch.stack(tensors).all())):  # one synchronisation
            return
        bad = []
        for name, v in terms:
            finite = bool(torch.isfinite(v).all()) if isinstance(v, torch.Tensor) else math.isfinite(v)
            if not finite and not any(b.startswith(name + '=') for b in bad):
                bad.append(f'{name}={_describe(v)}')
        if bad:
            raise NonFiniteLossError(
                f'non-finite loss at training iteration {self._iteration}: {", ".join(bad)}. '
                'Training stopped before this iteration\'s optimiser step (resume from the last '
                'checkpoint). Typical causes: a learning rate too high (lower optim_wrapper.optimizer.lr '
                'or add clip_grad), a corrupt image or mask in this batch, or a NaN already in the loaded '
                'weights.')


def _describe(value) -> str:
    if not isinstance(value, torch.Tensor):
        return repr(value)
    if value.numel() == 1:
        return str(value.item())
    return f'tensor of {tuple(value.shape)} with {int((~torch.isfinite(value)).sum())} non-finite value(s)'
