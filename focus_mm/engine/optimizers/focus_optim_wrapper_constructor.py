"""The optimiser rule of FOCUS: lr by model part, weight decay by layer type, a few parameter groups."""
from collections import OrderedDict
from typing import Dict, List, Tuple

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS

# Every normalisation layer type of torch (mmcv's SyncBN, mmpretrain's ln1/ln2 and GroupNorm are among
# them: they are these classes or subclass them).
NORM_LAYERS: Tuple[type, ...] = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm,
                                 nn.LocalResponseNorm) + ((nn.RMSNorm, ) if hasattr(nn, 'RMSNorm') else ())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FocusOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Learning rate by model part, weight decay by layer type (the rule of the authors' ``build_optimizer``).

    Every trainable parameter gets ``lr = base_lr * module_lr_mult[part]``, where ``part`` is the model's
    direct child that holds it (``backbone``, ``neck``, ``decode_head``...; a part not listed: 1), and
    ``weight_decay = base_wd * norm_decay_mult`` if the layer that owns it is a normalisation layer
    (batch/sync-batch, group, instance, layer norm), ``base_wd * embed_decay_mult`` if it is an
    ``nn.Embedding``, else ``base_wd``. Parts are named exactly (no substring match) and layers are
    recognised by type, not by parameter name. Frozen parameters (``requires_grad=False``) are left out,
    and a parameter shared by several modules is added once.

    Parameters with the same (lr, weight decay) share one group, base lr first (the lr that mmengine logs
    is the first group's), so a model has at most four groups instead of mmengine's one per parameter;
    one log line summarises them (mmengine's constructor logs one line per parameter).

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``.
        paramwise_cfg (dict, optional): ``module_lr_mult`` (dict: child name -> lr multiplier),
            ``norm_decay_mult`` (float) and ``embed_decay_mult`` (float); other keys are refused.
    """

    KEYS = ('module_lr_mult', 'norm_decay_mult', 'embed_decay_mult')

    def _validate_cfg(self) -> None:
        unknown = sorted(set(self.paramwise_cfg) - set(self.KEYS))
        if unknown:
            raise ValueError(f'FocusOptimWrapperConstructor: unknown paramwise_cfg keys {unknown}; it takes '
                             f'{list(self.KEYS)} (mmengine\'s custom_keys and the like need '
                             f"constructor='DefaultOptimWrapperConstructor')")
        mults = self.paramwise_cfg.get('module_lr_mult', {}) or {}
        if not isinstance(mults, dict):
            raise TypeError(f'FocusOptimWrapperConstructor: module_lr_mult must be a dict (part name -> lr '
                            f'multiplier), got {mults!r}')
        decay_mults = [k for k in ('norm_decay_mult', 'embed_decay_mult') if k in self.paramwise_cfg]
        if decay_mults and self.base_wd is None:
            raise ValueError(f'FocusOptimWrapperConstructor: {decay_mults} need the optimizer\'s '
                             f'weight_decay')

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Add one group per (lr, weight decay) pair of ``module``'s trainable parameters to ``params``."""
        mults: Dict[str, float] = dict(self.paramwise_cfg.get('module_lr_mult', {}) or {})
        children = dict(module.named_children())
        missing = sorted(set(mults) - set(children))
        if missing:
            raise ValueError(f'FocusOptimWrapperConstructor: module_lr_mult names {missing}, which the model '
                             f'({type(module).__name__}) does not have; its parts: {sorted(children)}')
        norm_mult = self.paramwise_cfg.get('norm_decay_mult', None)
        embed_mult = self.paramwise_cfg.get('embed_decay_mult', None)
        groups: Dict[Tuple[float, float], List[nn.Parameter]] = {}
        seen, frozen, shared = set(), 0, 0
        for name, child in [('', module)] + list(children.items()):
            lr_mult = float(mults.get(name, 1.0))
            # The root's own parameters (rare) first, then each part with all its sub-modules.
            layers = [module] if name == '' else child.modules()
            for layer in layers:
                decay_mult = 1.0
                if norm_mult is not None and isinstance(layer, NORM_LAYERS):
                    decay_mult = float(norm_mult)
                elif embed_mult is not None and isinstance(layer, nn.Embedding):
                    decay_mult = float(embed_mult)
                for param in layer.parameters(recurse=False):
                    if id(param) in seen:
                        shared += 1
                        continue
                    seen.add(id(param))
                    if not param.requires_grad:
                        frozen += 1
                        continue
                    groups.setdefault((lr_mult, decay_mult), []).append(param)
        ordered = OrderedDict(sorted(groups.items(), key=lambda item: (-item[0][0], -item[0][1])))
        summary = []
        for (lr_mult, decay_mult), group_params in ordered.items():
            group = dict(params=group_params, lr=self.base_lr * lr_mult)
            if self.base_wd is not None:
                group['weight_decay'] = self.base_wd * decay_mult
            params.append(group)
            numel = sum(p.numel() for p in group_params)
            summary.append(f"lr {group['lr']:g} wd {group.get('weight_decay', 'default')}: "
                           f'{len(group_params)} tensors, {numel / 1e6:.2f}M')
        print_log(f'FocusOptimWrapperConstructor: {len(ordered)} parameter groups ({"; ".join(summary)}); '
                  f'left out: {frozen} frozen, {shared} repeated', logger='current')
