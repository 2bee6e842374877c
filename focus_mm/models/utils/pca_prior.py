"""M0: a foreground prior from the first principal component of ViT patch features (FOCUS, eq. M0), and
the attention mask by which it steers the ground queries in the first decoder layer."""
import contextlib
import math
from typing import Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from .level_layout import size_tensor

# Which eigen-solver ``pca_foreground_prior`` uses when none is passed: None = automatic (``'eigh'``,
# but ``'power'`` during an ONNX export). Set with ``prior_solver``.
_FORCED_SOLVER: Optional[str] = None
SOLVERS = ('eigh', 'power')
# Power iteration: ``POWER_SQUARINGS`` repeated squarings of the trace-normalised matrix (M^(2^k): the
# second eigenvalue's share falls as (l2 / l1)^(2^k)), then ``POWER_ITERS`` plain steps on the matrix
# itself to restore the precision that squaring in float32 loses. Random Gaussian features are the hard
# case (a top eigen-gap of ~1%): there 8 squarings left 2-3% of the tokens of a 1024 x 37 x 37 map on
# the other side of the threshold from eigh, 10 none; 12 keep a margin (cost: 12 products of M x M
# matrices, M = min(D, h * w), ~26 GFLOP for DINOv2-L at 518, ~2% of its forward). Tested against eigh in
# tests/test_models/test_utils/test_pca_prior_power.py.
POWER_SQUARINGS = 12
POWER_ITERS = 8


def pca_foreground_prior(tokens: torch.Tensor, threshold: float = 0.6, valid: Optional[torch.Tensor] = None,
                         solver: Optional[str] = None) -> torch.Tensor:
    """Binary foreground prior of each image from its own patch-token map.

    Per image, the D-dimensional features of its valid tokens are centred and projected on their first
    principal component (the top eigenvector of the D x D or N x N Gram matrix, whichever is smaller:
    ``torch.linalg.eigh`` is exact and deterministic, unlike a randomised low-rank PCA). The projection is
    min-max scaled to [0, 1] over the valid tokens and binarised at ``threshold``. Tokens outside ``valid``
    (the batch padding around a smaller image) take no part in the mean, the component, the scaling or
    the sign rule, and are never foreground: an image gets the same prior alone and padded in a batch.

    Sign rule: a principal component's sign is arbitrary. The end of the component that touches the image
    border less is taken as foreground: if the mean scaled projection over the border tokens of the valid
    region exceeds its mean over all valid tokens, the projection is negated before scaling. (Salient,
    camouflaged and shadow regions rarely fill the border; on regions too small to have an interior the
    rule leaves the sign.)

    ``torch.linalg.eigh`` has no ONNX operator; with ``solver='power'`` the top eigenvector comes from
    :func:`power_top_eigenvector` instead (matrix products only, exportable). By default the solver is
    eigh, except power iteration during an ONNX export (see :func:`prior_solver`).

    Args:
        tokens (Tensor): B x D x h x w patch-token map (e.g. DINOv2's last block after its final norm).
        threshold (float): Binarisation threshold after min-max scaling. The authors used 0.6.
        valid (Tensor, optional): bool B x h x w, True on the tokens of the image itself: a top-left
            rectangle per image, as :func:`valid_token_mask` gives. None: every token is valid.
        solver (str, optional): ``'eigh'`` or ``'power'``; None picks as described above.

    Returns:
        Tensor: bool B x h x w, True where the prior says foreground (always False outside ``valid``).
    """
    if tokens.dim() != 4:
        raise ValueError(f'pca_foreground_prior expects a B x D x h x w token map, got shape '
                         f'{tuple(tokens.shape)}; check prior_index of the head (it must select the '
                         f'backbone token map that the neck appends after the 4 feature maps).')
    b, d, h, w = tokens.shape
    if valid is None:
        valid = torch.ones(b, h, w, dtype=torch.bool, device=tokens.device)
    elif valid.shape != (b, h, w) or valid.dtype != torch.bool:
        raise ValueError(f'pca_foreground_prior: valid must be a bool B x h x w map like the tokens '
                         f'({b} x {h} x {w}), got {valid.dtype} {tuple(valid.shape)}')
    valid = valid.to(tokens.device)
    # (A data-dependent check: skipped while tracing for an export, where it would become a constant.)
    exporting = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
    if not exporting and not valid.flatten(1).any(dim=1).all():
        raise ValueError('pca_foreground_prior: an image has no valid token (img_shape smaller than one '
                         'patch?); check the img_shape in its metainfo')
    # PCA in float32 even under AMP: eigh is not implemented for half precision.
    with torch.autocast(device_type=tokens.device.type, enabled=False):
        weights = valid.flatten(1)[..., None].float()  # B x N x 1
        count = weights.sum(dim=1, keepdim=True)  # B x 1 x 1
        x = tokens.detach().float().flatten(2).transpose(1, 2)  # B x N x D
        # Padded rows are zeroed after centring: they add nothing to either Gram matrix.
        x = (x - (x * weights).sum(dim=1, keepdim=True) / count) * weights
        n = x.shape[1]
        if d <= n:
            proj = x @ top_eigenvector(x.transpose(1, 2) @ x, solver)[:, :, None]  # B x N x 1
        else:
            # Top eigenvector of X X^T is the projection itself, up to a positive scale.
            proj = top_eigenvector(x @ x.transpose(1, 2), solver)[:, :, None]
        proj = proj.reshape(b, h, w)
        proj = _orient_towards_interior(proj, valid)
        low = proj.masked_fill(~valid, math.inf).flatten(1).amin(dim=1).view(b, 1, 1)
        high = proj.masked_fill(~valid, -math.inf).flatten(1).amax(dim=1).view(b, 1, 1)
        scaled = (proj - low) / (high - low).clamp_min(1e-12)
    return (scaled > threshold) & valid


def top_eigenvector(sym: torch.Tensor, solver: Optional[str] = None) -> torch.Tensor:
    """Unit eigenvector of the largest eigenvalue of each symmetric PSD matrix (B x M x M -> B x M).

    Args:
        sym (Tensor): B x M x M symmetric positive semi-definite (a Gram or covariance matrix), float.
        solver (str, optional): ``'eigh'`` (exact, ``torch.linalg.eigh``) or ``'power'``
            (:func:`power_top_eigenvector`, exportable to ONNX). None: power iteration during an ONNX
            export, else eigh, unless :func:`prior_solver` forces one.

    Returns:
        Tensor: B x M; the sign is arbitrary (the prior's orientation rule fixes it).
    """
    solver = solver or _FORCED_SOLVER or ('power' if torch.onnx.is_in_onnx_export() else 'eigh')
    if solver == 'eigh':
        return torch.linalg.eigh(sym)[1][:, :, -1]  # ascending eigenvalues
    if solver == 'power':
        return power_top_eigenvector(sym)
    raise ValueError(f'top_eigenvector: solver must be one of {SOLVERS}, got {solver!r}')


def power_top_eigenvector(sym: torch.Tensor, num_squarings: int = POWER_SQUARINGS,
                          num_iters: int = POWER_ITERS) -> torch.Tensor:
    """Top eigenvector of symmetric PSD matrices by power iteration, in exportable operations only.

    A fixed number of steps (no data-dependent loop, so the ONNX graph is static): the matrix is divided
    by its trace and squared ``num_squarings`` times (renormalised by the trace each time), which leaves
    ``~ u1 u1^T`` when the top eigenvalue is separated; its column with the largest diagonal entry (that
    column is ``u1 * u1_k`` with ``u1_k^2`` the largest entry of ``u1``, so it never vanishes) starts
    ``num_iters`` plain power steps ``v <- S v / |S v|`` on the original matrix.

    Args:
        sym (Tensor): B x M x M symmetric positive semi-definite, float32 or float64.
        num_squarings (int): Repeated squarings. Defaults to ``POWER_SQUARINGS``.
        num_iters (int): Plain power steps after them. Defaults to ``POWER_ITERS``.

    Returns:
        Tensor: B x M unit vectors (arbitrary sign). When the top eigenvalue is (nearly) repeated, any unit
        vector of its eigenspace may come back, as with eigh.
    """
    eye = torch.eye(sym.shape[-1], dtype=sym.dtype, device=sym.device)
    tiny = torch.finfo(sym.dtype).tiny

    def trace_normalised(m):
        return m / (m * eye).sum(dim=(1, 2), keepdim=True).clamp_min(tiny)

    m = trace_normalised(sym)
    for _ in range(num_squarings):
        m = trace_normalised(m @ m)
    column = (m * eye).sum(dim=2).argmax(dim=1)  # B
    v = torch.gather(m, 2, column.view(-1, 1, 1).expand(-1, m.shape[1], 1))  # B x M x 1
    v = v / v.norm(dim=1, keepdim=True).clamp_min(tiny)
    for _ in range(num_iters):
        v = sym @ v
        v = v / v.norm(dim=1, keepdim=True).clamp_min(tiny)
    return v[:, :, 0]


@contextlib.contextmanager
def prior_solver(solver: Optional[str]) -> Iterator[None]:
    """Force the eigen-solver of the M0 prior inside a block (``'eigh'``, ``'power'``; None = automatic).

    The ONNX exporter runs PyTorch under ``prior_solver('power')`` for its parity check, so that both
    sides compute the same prior; ``tools/deployment/pytorch2onnx.py`` reports eigh's agreement too.
    """
    global _FORCED_SOLVER
    if solver is not None and solver not in SOLVERS:
        raise ValueError(f'prior_solver: solver must be one of {SOLVERS} or None, got {solver!r}')
    previous, _FORCED_SOLVER = _FORCED_SOLVER, solver
    try:
        yield
    finally:
        _FORCED_SOLVER = previous


def _orient_towards_interior(proj: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Negate the maps whose high end lies on the border of their valid region more than on average."""
    rows = valid.any(dim=2).sum(dim=1)  # B: valid rows (the region is a top-left rectangle)
    cols = valid.any(dim=1).sum(dim=1)
    h, w = proj.shape[-2:]
    row_idx = torch.arange(h, device=proj.device).view(1, h, 1)
    col_idx = torch.arange(w, device=proj.device).view(1, 1, w)
    border = ((row_idx == 0) | (row_idx == rows.view(-1, 1, 1) - 1) | (col_idx == 0)
              | (col_idx == cols.view(-1, 1, 1) - 1)) & valid
    border_mean = (proj * border).flatten(1).sum(dim=1) / border.flatten(1).sum(dim=1)
    all_mean = (proj * valid).flatten(1).sum(dim=1) / valid.flatten(1).sum(dim=1)
    flip = border_mean > all_mean
    return torch.where(flip.view(-1, 1, 1), -proj, proj)


def valid_token_mask(img_shapes: Union[Sequence[Tuple[int, int]], torch.Tensor], grid_hw: Tuple[int, int],
                     patch_size: int, device=None) -> torch.Tensor:
    """Tokens that cover pixels of each image (bool B x h x w), from the images' unpadded sizes.

    mmseg pads a batch at the bottom/right (``img_shape`` is an image's size inside the padded batch),
    and the ViT's token ``(i, j)`` covers pixels ``[i * p, (i + 1) * p) x [j * p, (j + 1) * p)`` of the
    batch; so an image of ``H x W`` pixels owns the top-left ``ceil(H / p) x ceil(W / p)`` tokens (its last
    row and column of tokens may hold some padding, as they do when the image is alone).

    Args:
        img_shapes (Sequence[tuple] | Tensor): ``(H, W)`` of each image (metainfo ``img_shape``), or a
            ``B x 2`` integer tensor of them (an exported graph's ``img_shape`` input).
        grid_hw (tuple): The token grid ``(h, w)`` of the batch (ints, or sizes traced as tensors).
        patch_size (int): Pixels per token side ``p``.
        device: Device of the mask.

    Returns:
        Tensor: bool B x h x w.
    """
    h, w = grid_hw
    if isinstance(img_shapes, torch.Tensor):
        sizes = img_shapes.to(device=device, dtype=torch.long).view(-1, 2)
    else:
        sizes = torch.tensor([[int(s[0]), int(s[1])] for s in img_shapes], dtype=torch.long,
                             device=device).view(-1, 2)
    # ceil(size / p) in integer arithmetic, capped at the grid: tensor operations only, so that an exported
    # graph computes it from its img_shape input
    tokens = torch.div(sizes + (patch_size - 1), patch_size, rounding_mode='floor')
    rows = torch.minimum(tokens[:, 0], size_tensor(h, device))
    cols = torch.minimum(tokens[:, 1], size_tensor(w, device))
    inside_rows = torch.arange(h, device=device).view(1, -1, 1) < rows.view(-1, 1, 1)
    inside_cols = torch.arange(w, device=device).view(1, 1, -1) < cols.view(-1, 1, 1)
    return inside_rows & inside_cols


def resize_prior(prior: torch.Tensor, size) -> torch.Tensor:
    """Resize a bool B x h x w prior to ``size`` (bilinear on 0/1, then >= 0.5): a bool B x H x W map.

    Cells half-way between a True and a False cell interpolate to 0.5 exactly in exact arithmetic, and
    to 0.5 plus or minus a rounding step in float32, which kernels round differently (PyTorch and ONNX
    Runtime: other masks from the same prior). Such ties count as True in both routes: the comparison is
    with 0.5 less a margin (1e-4) far above the rounding; a cell interpolated to within 1e-4 below 0.5
    counts as a tie too.
    """
    resized = F.interpolate(prior[:, None].float(), size=tuple(size), mode='bilinear', align_corners=False)
    return resized[:, 0] >= 0.5 - 1e-4


def prior_attention_mask(prior: torch.Tensor, valid: Optional[torch.Tensor], size, num_queries: int,
                         num_heads: int) -> torch.Tensor:
    """The first decoder layer's attention mask from M0: the ground queries steered by the prior.

    Query 0 is blocked outside the prior, query 1 (if any) inside it, both on the batch padding; a query
    left with no cell attends to the whole image.

    Args:
        prior (Tensor): bool B x h x w, :func:`pca_foreground_prior`'s output.
        valid (Tensor, optional): bool B x h x w, each image's own tokens (:func:`valid_token_mask`); None:
            every cell is the image's.
        size (tuple): ``(H, W)`` of the map the layer attends to.
        num_queries (int): 2 (foreground and background query) or 1 (foreground only).
        num_heads (int): Attention heads of the layer (the mask is repeated per head).

    Returns:
        Tensor: bool (B * num_heads) x num_queries x (H * W), True = blocked.
    """
    inside = resize_prior(prior, size).flatten(1)  # B x N
    if valid is None:
        image = torch.ones_like(inside)
    else:
        # The same resize as the prior's; the top-left cell always holds image pixels.
        image = resize_prior(valid, size)
        image[:, 0, 0] = True
        image = image.flatten(1)
    inside = inside & image
    outside = image & ~inside
    # A side with no cell falls back to the whole image (logical ops: ONNX Runtime has no bool Where).
    fg_cells = inside | (image & ~inside.any(dim=1, keepdim=True))
    bg_cells = outside | (image & ~outside.any(dim=1, keepdim=True))
    blocked = ~torch.stack([fg_cells, bg_cells], dim=1)[:, :num_queries]  # B x Q x N
    return blocked.repeat_interleave(num_heads, dim=0)


def image_token_mask(tokens: torch.Tensor, batch_img_metas: Optional[Sequence[dict]],
                     patch_size: int) -> Optional[torch.Tensor]:
    """Each image's own tokens (bool B x h x w) from its metainfo ``img_shape``; None: all tokens.

    Args:
        tokens (Tensor): B x D x h x w token map of the padded batch.
        batch_img_metas (Sequence[dict], optional): One metainfo per image (or one for the batch); None,
            or a meta without ``img_shape``, gives None.
        patch_size (int): Pixels per token side.

    Returns:
        Tensor | None: bool B x h x w (:func:`valid_token_mask`), or None.
    """
    if tokens.dim() != 4 or not batch_img_metas or any('img_shape' not in m for m in batch_img_metas):
        return None
    if len(batch_img_metas) not in (1, tokens.shape[0]):
        raise ValueError(f'GroundQueryHead: {len(batch_img_metas)} image metas for a batch of '
                         f'{tokens.shape[0]} token maps; give one per image (or one for all)')
    shapes = [tuple(m['img_shape'])[:2] for m in batch_img_metas]
    shapes = shapes * tokens.shape[0] if len(shapes) == 1 else shapes  # one meta describes the batch
    return valid_token_mask(shapes, tuple(tokens.shape[-2:]), patch_size, tokens.device)
