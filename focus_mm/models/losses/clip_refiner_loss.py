"""CLIP refiner loss of FOCUS: a frozen CLIP aligns mask-fused images with foreground/background prompts."""
import os
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import nn

# Default prompt pairs (foreground, background); the paper's SOD pair, which the authors also used for
# COD and DBD, and their shadow and forgery variants.
TASK_PROMPTS: Dict[str, Tuple[str, str]] = {
    'sod': ("It's an image of salient objects without background.",
            "It's an image of background with salient objects removed."),
    'cod': ("It's an image of salient objects without background.",
            "It's an image of background with salient objects removed."),
    'dbd': ("It's an image of salient objects without background.",
            "It's an image of background with salient objects removed."),
    'sd': ("It's an image of shadow without background.", "It's an image of background with shadow removed."),
    'fd': ("It's an image of forgery objects without background.",
           "It's an image of background with forgery objects removed."),
}

_CHECKPOINT_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')


@MODELS.register_module()
class CLIPRefinerLoss(nn.Module):
    """Symmetric image-text contrastive loss between mask-fused images and two prompts (training only).

    Each soft mask (sigmoid of the mask logits, resized to CLIP's input size) multiplies the
    **un-normalised** RGB image; CLIP's own normalisation follows, so gradients reach the mask logits.
    With image features ``I_f, I_b`` and text features ``T_f, T_b`` (unit length) the loss per image is
    ``(L_i2t + L_t2i) / 2`` where
    ``L_i2t = CE([I_f.T_f, I_f.T_b] / tau, 0) + CE([I_b.T_b, I_b.T_f] / tau, 0)`` and ``L_t2i`` is the
    same with the roles of images and texts swapped (the paper's equation). The loss is the mean over the
    images that ``keep`` selects (all by default); the others are not encoded at all.

    The CLIP model is frozen and kept outside the module tree: it is not in ``state_dict()`` or
    ``parameters()`` (so neither checkpoints nor optimizers see it), and it follows the device of the
    inputs on first use. Text features are computed once per device.

    Args:
        task (str): Prompt set: one of ``'sod'``, ``'cod'``, ``'sd'``, ``'dbd'``, ``'fd'``. Ignored when
            ``prompts`` is given. Defaults to ``'sod'``.
        prompts (Sequence[str], optional): Explicit (foreground, background) prompt pair.
        clip_model (str): open_clip model name. Defaults to ``'ViT-B-16'``.
        pretrained (str, optional): open_clip pretrained tag (e.g. ``'openai'``, fetched from the hub), a
            local checkpoint file, or None for random weights (tests only).
        model_cfg (dict, optional): Build ``open_clip.CLIP(**model_cfg)`` instead of a named model (tiny
            random models in tests); the tokenizer of ``clip_model`` is still used.
        quick_gelu (bool, optional): Activation of the CLIP towers. None follows the pretrained tag
            (OpenAI's weights were trained with QuickGELU, which open_clip's ``ViT-B-16`` config lacks) or,
            for a local file or random weights, the model config; set True for a local copy of the
            OpenAI weights.
        temperature (float): tau. Defaults to 0.07 (the authors' value).
        loss_weight (float): Defaults to 1.0 (the paper uses 0.01 for forgery detection).
        loss_name (str): Key of the loss in the loss dict. Defaults to ``'loss_clip'``.
        task_prompts (dict, optional): Per-task (foreground, background) pairs for universal models, which
            pass each sample's task to ``forward``; tasks not listed use :data:`TASK_PROMPTS`.
        task_loss_weights (dict, optional): Per-task factors on a sample's loss when tasks are passed
            (e.g. ``dict(fd=0.01)``, the paper's forgery weight); others count 1. Defaults to None.
    """

    def __init__(self, task: str = 'sod', prompts: Optional[Sequence[str]] = None,
                 clip_model: str = 'ViT-B-16', pretrained: Optional[str] = 'openai',
                 model_cfg: Optional[dict] = None, quick_gelu: Optional[bool] = None,
                 temperature: float = 0.07, loss_weight: float = 1.0, loss_name: str = 'loss_clip',
                 task_prompts: Optional[Dict[str, Sequence[str]]] = None,
                 task_loss_weights: Optional[Dict[str, float]] = None):
        super().__init__()
        if prompts is None:
            if task not in TASK_PROMPTS:
                raise KeyError(f"CLIPRefinerLoss: unknown task '{task}'; known tasks: "
                               f"{sorted(TASK_PROMPTS)}; or pass prompts=(foreground, background).")
            prompts = TASK_PROMPTS[task]
        if len(prompts) != 2 or not all(isinstance(p, str) for p in prompts):
            raise ValueError(f'CLIPRefinerLoss: prompts must be two strings (foreground, background), '
                             f'got {prompts!r}')
        self.prompts = tuple(prompts)
        self.temperature = temperature
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        clip, tokenizer = _build_clip(clip_model, pretrained, model_cfg, quick_gelu)
        clip.eval()
        clip.requires_grad_(False)
        # Stored through __dict__ so that nn.Module does not register it as a submodule.
        self.__dict__['clip'] = clip
        self._tokens = tokenizer(list(self.prompts))
        self._text_features = None
        # Universal models: the prompt pair of every task, encoded together on first use.
        self.task_prompts = {task: tuple(pair) for task, pair in TASK_PROMPTS.items()}
        self.task_prompts.update({task: tuple(pair) for task, pair in (task_prompts or {}).items()})
        self.task_loss_weights = dict(task_loss_weights or {})
        for task in list(self.task_loss_weights) + [t for t in (task_prompts or {})]:
            if task not in TASK_PROMPTS:
                raise KeyError(f'CLIPRefinerLoss: unknown task {task!r} in task_prompts/task_loss_weights; '
                               f'known tasks: {sorted(TASK_PROMPTS)}.')
        self._task_names = sorted(self.task_prompts)
        self._task_tokens = tokenizer([p for t in self._task_names for p in self.task_prompts[t]])
        self._task_text_features = None
        image_size = clip.visual.image_size
        self.image_size = tuple(image_size) if isinstance(image_size, (tuple, list)) else (image_size, ) * 2
        cfg = getattr(clip.visual, 'preprocess_cfg', {}) or {}
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
        self._mean = torch.tensor(cfg.get('mean', OPENAI_DATASET_MEAN)).view(1, 3, 1, 1)
        self._std = torch.tensor(cfg.get('std', OPENAI_DATASET_STD)).view(1, 3, 1, 1)

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (mmseg convention)."""
        return self._loss_name

    def _clip_on(self, device: torch.device) -> nn.Module:
        clip = self.__dict__['clip']
        if next(clip.parameters()).device != device:
            clip.to(device)
            self._text_features = None
            self._task_text_features = None
        if self._text_features is None:
            with torch.no_grad():
                text = clip.encode_text(self._tokens.to(device)).float()
            self._text_features = F.normalize(text, dim=-1)  # 2 x S: foreground, background
        return clip

    def _per_sample_text(self, tasks: Sequence[str], device: torch.device):
        """B x S foreground and background text features of each sample's task, and its loss factor."""
        for task in tasks:
            if task not in self.task_prompts:
                raise KeyError(f'CLIPRefinerLoss: unknown task {task!r}; known tasks: {self._task_names}.')
        if self._task_text_features is None:
            with torch.no_grad():
                text = self.__dict__['clip'].encode_text(self._task_tokens.to(device)).float()
            self._task_text_features = F.normalize(text, dim=-1).view(len(self._task_names), 2, -1)
        index = torch.tensor([self._task_names.index(t) for t in tasks], device=device)
        text = self._task_text_features[index]  # B x 2 x S
        factors = torch.tensor([float(self.task_loss_weights.get(t, 1.0)) for t in tasks], device=device)
        return text[:, 0], text[:, 1], factors

    def forward(self, fg_mask_logits: torch.Tensor, bg_mask_logits: Optional[torch.Tensor],
                images: torch.Tensor, keep: Optional[torch.Tensor] = None,
                tasks: Optional[Sequence[str]] = None) -> torch.Tensor:
        """Compute the weighted loss.

        Args:
            fg_mask_logits (Tensor): B x h x w (or B x 1 x h x w) foreground mask logits.
            bg_mask_logits (Tensor, optional): Background mask logits, same shape; None uses
                ``1 - sigmoid(fg)`` (single-channel binary heads).
            images (Tensor): B x 3 x H x W un-normalised RGB in [0, 1].
            keep (Tensor, optional): bool B, the images that take part (e.g. those with both a
                foreground and a background); None keeps all. With none kept the loss is a zero that
                keeps the graph.
            tasks (Sequence[str], optional): Each sample's task (universal models): its prompts are that
                task's, and its loss is scaled by ``task_loss_weights``. None uses the constructor's pair.

        Returns:
            Tensor: scalar loss, ``loss_weight`` applied.
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f'CLIPRefinerLoss expects images B x 3 x H x W (RGB in [0, 1]), got '
                             f'{tuple(images.shape)}')
        fg = _as_map(fg_mask_logits)
        if tasks is not None and len(tasks) != fg.shape[0]:
            raise ValueError(f'CLIPRefinerLoss: {len(tasks)} tasks for {fg.shape[0]} images.')
        if keep is not None:
            keep = keep.to(device=fg.device, dtype=torch.bool).flatten()
            if keep.numel() != fg.shape[0] or images.shape[0] != fg.shape[0]:
                raise ValueError(f'CLIPRefinerLoss: keep ({keep.numel()}), mask logits ({fg.shape[0]}) and '
                                 f'images ({images.shape[0]}) must have one entry per image')
            if not keep.any():  # nothing to contrast: a zero that keeps the graph (DDP sees every input)
                zero = fg.float().sum() * 0.0
                return zero if bg_mask_logits is None else zero + bg_mask_logits.float().sum() * 0.0
            if not keep.all():
                fg, images = fg[keep], images[keep]
                bg_mask_logits = _as_map(bg_mask_logits)[keep] if bg_mask_logits is not None else None
                tasks = None if tasks is None else [t for t, k in zip(tasks, keep.tolist()) if k]
        clip = self._clip_on(images.device)
        images = F.interpolate(images.float(), size=self.image_size, mode='bilinear', align_corners=False)
        fg_prob = F.interpolate(fg.float(), size=self.image_size, mode='bilinear',
                                align_corners=False).sigmoid()
        if bg_mask_logits is None:
            bg_prob = 1 - fg_prob
        else:
            bg = _as_map(bg_mask_logits).float()
            bg_prob = F.interpolate(bg, size=self.image_size, mode='bilinear', align_corners=False).sigmoid()
        mean, std = self._mean.to(images.device), self._std.to(images.device)
        fused = torch.cat([images * fg_prob, images * bg_prob], dim=0)
        feats = clip.encode_image((fused - mean) / std)  # may run in half precision under AMP
        # The contrast itself in float32: with tau = 0.07 the logits reach +-14, too coarse for half.
        with torch.autocast(device_type=images.device.type, enabled=False):
            feats = F.normalize(feats.float(), dim=-1)
            img_f, img_b = feats.chunk(2, dim=0)  # B x S each
            factors = None
            if tasks is None:
                txt_f, txt_b = self._text_features.float()
                sim_ff, sim_fb = img_f @ txt_f, img_f @ txt_b
                sim_bf, sim_bb = img_b @ txt_f, img_b @ txt_b
            else:
                txt_f, txt_b, factors = self._per_sample_text(tasks, images.device)
                sim_ff, sim_fb = (img_f * txt_f).sum(-1), (img_f * txt_b).sum(-1)
                sim_bf, sim_bb = (img_b * txt_f).sum(-1), (img_b * txt_b).sum(-1)
            tau = self.temperature
            # Image -> text: each image picks its prompt; text -> image: each prompt picks its image.
            loss_i2t = _pick_first(sim_ff, sim_fb, tau) + _pick_first(sim_bb, sim_bf, tau)
            loss_t2i = _pick_first(sim_ff, sim_bf, tau) + _pick_first(sim_bb, sim_fb, tau)
            per_image = (loss_i2t + loss_t2i) / 2
            if factors is not None:
                per_image = per_image * factors
            return self.loss_weight * per_image.mean()


def _pick_first(positive: torch.Tensor, negative: torch.Tensor, tau: float) -> torch.Tensor:
    """-log softmax of the positive among (positive, negative), per element."""
    logits = torch.stack([positive, negative], dim=-1) / tau
    return -logits.log_softmax(dim=-1)[..., 0]


def _as_map(logits: torch.Tensor) -> torch.Tensor:
    if logits.dim() == 3:
        return logits[:, None]
    if logits.dim() == 4 and logits.shape[1] == 1:
        return logits
    raise ValueError(f'CLIPRefinerLoss expects mask logits B x h x w or B x 1 x h x w, '
                     f'got {tuple(logits.shape)}')


def _build_clip(name: str, pretrained: Optional[str], model_cfg: Optional[dict], quick_gelu: Optional[bool]):
    """Build the open_clip model and tokenizer, failing early with a clear message."""
    import open_clip
    tokenizer = open_clip.get_tokenizer(name)
    if model_cfg is not None:
        model_cfg = dict(model_cfg)
        if quick_gelu is not None:
            model_cfg['quick_gelu'] = quick_gelu
        return open_clip.CLIP(**model_cfg), tokenizer
    if pretrained is None:
        return open_clip.create_model(name, pretrained=None, force_quick_gelu=bool(quick_gelu)), tokenizer
    if _looks_like_path(pretrained):
        if not os.path.isfile(pretrained):
            raise FileNotFoundError(
                f"CLIPRefinerLoss: CLIP checkpoint '{pretrained}' not found. Download the weights of "
                f"open_clip '{name}' (e.g. on a machine with internet: `python -c \"import open_clip; "
                f"open_clip.create_model('{name}', pretrained='openai')\"`, which caches them under "
                f"~/.cache/huggingface) and point pretrained= to the file (with quick_gelu=True for OpenAI's "
                f"weights), or set loss_clip=None.")
        clip = open_clip.create_model(name, pretrained=pretrained, force_quick_gelu=bool(quick_gelu))
        return clip, tokenizer
    known = open_clip.list_pretrained_tags_by_model(name)
    if pretrained not in known:
        raise ValueError(f"CLIPRefinerLoss: open_clip has no pretrained tag '{pretrained}' for '{name}'; "
                         f'known tags: {known}; or pass a local checkpoint file.')
    if quick_gelu is None:
        quick_gelu = open_clip.get_pretrained_cfg(name, pretrained).get('quick_gelu', False)
    try:
        return open_clip.create_model(name, pretrained=pretrained, force_quick_gelu=quick_gelu), tokenizer
    except Exception as err:  # network or hub failures: say how to get the weights
        raise RuntimeError(
            f"CLIPRefinerLoss: could not load open_clip '{name}' weights '{pretrained}' from the hub "
            f"({type(err).__name__}: {err}). Fetch them on a machine with internet and pass the local file "
            f"as pretrained='/path/to/open_clip_model.safetensors', or set loss_clip=None.") from err


def _looks_like_path(pretrained: Union[str, os.PathLike]) -> bool:
    text = os.fspath(pretrained)
    return os.sep in text or text.startswith('.') or text.endswith(_CHECKPOINT_SUFFIXES)
