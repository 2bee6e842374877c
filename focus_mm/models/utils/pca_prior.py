"""M0: a foreground prior from the first principal component of ViT patch features (FOCUS, eq. M0)."""
import torch
import torch.nn.functional as F


def pca_foreground_prior(tokens: torch.Tensor, threshold: float = 0.6) -> torch.Tensor:
    """Binary foreground prior of each image from its own patch-token map.

    Per image, the centred D-dimensional token features are projected on their first principal
    component (the top eigenvector of the D x D or N x N Gram matrix, whichever is smaller:
    ``torch.linalg.eigh`` is exact and deterministic, unlike a randomised low-rank PCA). The projection is
    min-max scaled to [0, 1] and binarised at ``threshold``.

    Sign rule: a principal component's sign is arbitrary. The end of the component that touches the image
    border less is taken as foreground: if the mean scaled projection over the border tokens exceeds its
    mean over all tokens, the projection is negated before scaling. (Salient, camouflaged and shadow
    regions rarely fill the border; on maps too small to have an interior the rule leaves the sign.)

    Args:
        tokens (Tensor): B x D x h x w patch-token map (e.g. DINOv2's last block after its final norm).
        threshold (float): Binarisation threshold after min-max scaling. The authors used 0.6.

    Returns:
        Tensor: bool B x h x w, True where the prior says foreground.
    """
    if tokens.dim() != 4:
        raise ValueError(f'pca_foreground_prior expects a B x D x h x w token map, got shape '
                         f'{tuple(tokens.shape)}; check prior_index of the head (it must select the '
                         f'backbone token map that the neck appends after the 4 feature maps).')
    b, d, h, w = tokens.shape
    # PCA in float32 even under AMP: eigh is not implemented for half precision.
    with torch.autocast(device_type=tokens.device.type, enabled=False):
        x = tokens.detach().float().flatten(2).transpose(1, 2)  # B x N x D
        x = x - x.mean(dim=1, keepdim=True)
        n = x.shape[1]
        if d <= n:
            _, vecs = torch.linalg.eigh(x.transpose(1, 2) @ x)  # ascending eigenvalues
            proj = x @ vecs[:, :, -1:]  # B x N x 1
        else:
            # Top eigenvector of X X^T is the projection itself, up to a positive scale.
            _, vecs = torch.linalg.eigh(x @ x.transpose(1, 2))
            proj = vecs[:, :, -1:]
        proj = proj.reshape(b, h, w)
        proj = _orient_towards_interior(proj)
        low = proj.flatten(1).amin(dim=1).view(b, 1, 1)
        high = proj.flatten(1).amax(dim=1).view(b, 1, 1)
        scaled = (proj - low) / (high - low).clamp_min(1e-12)
    return scaled > threshold


def _orient_towards_interior(proj: torch.Tensor) -> torch.Tensor:
    """Negate the maps whose high end lies on the border more than on average (B x h x w)."""
    border = torch.zeros_like(proj[0], dtype=torch.bool)
    border[0, :] = border[-1, :] = True
    border[:, 0] = border[:, -1] = True
    border_mean = proj[:, border].mean(dim=1)
    all_mean = proj.flatten(1).mean(dim=1)
    flip = border_mean > all_mean
    return torch.where(flip.view(-1, 1, 1), -proj, proj)


def resize_prior(prior: torch.Tensor, size) -> torch.Tensor:
    """Resize a bool B x h x w prior to ``size`` (bilinear on 0/1, then >= 0.5): a bool B x H x W map."""
    resized = F.interpolate(prior[:, None].float(), size=tuple(size), mode='bilinear', align_corners=False)
    return resized[:, 0] >= 0.5
