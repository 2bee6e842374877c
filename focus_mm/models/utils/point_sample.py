"""Point sampling of mask logits (PointRend style), written for the ground-query losses."""
import torch
import torch.nn.functional as F


def point_sample(maps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinearly sample ``maps`` at normalised point coordinates.

    Args:
        maps (Tensor): N x C x H x W.
        coords (Tensor): N x P x 2 points, (x, y) in [0, 1] over the whole map.

    Returns:
        Tensor: N x C x P sampled values.
    """
    grid = (2.0 * coords - 1.0).unsqueeze(2)  # N x P x 1 x 2 in grid_sample's [-1, 1]
    out = F.grid_sample(maps, grid.to(maps.dtype), mode='bilinear', align_corners=False)
    return out.squeeze(3)


def uncertain_point_coords(mask_logits: torch.Tensor, num_points: int, oversample_ratio: float,
                           importance_sample_ratio: float) -> torch.Tensor:
    """Points where the masks are least certain, plus uniform random points.

    ``oversample_ratio * num_points`` random candidates are scored by ``-|logit|``; the
    ``importance_sample_ratio * num_points`` most uncertain are kept and the rest of the budget is
    drawn uniformly.

    Args:
        mask_logits (Tensor): N x 1 x H x W mask logits (no gradient is needed through the choice).
        num_points (int): Points per mask.
        oversample_ratio (float): Candidates per kept point (>= 1).
        importance_sample_ratio (float): Fraction of points chosen by uncertainty, in [0, 1].

    Returns:
        Tensor: N x num_points x 2 coordinates (x, y) in [0, 1].
    """
    if oversample_ratio < 1 or not 0 <= importance_sample_ratio <= 1:
        raise ValueError(f'need oversample_ratio >= 1 and 0 <= importance_sample_ratio <= 1, got '
                         f'{oversample_ratio} and {importance_sample_ratio}')
    n = mask_logits.shape[0]
    num_candidates = int(num_points * oversample_ratio)
    candidates = torch.rand(n, num_candidates, 2, device=mask_logits.device)
    uncertainty = -point_sample(mask_logits.detach().float(), candidates).abs()[:, 0]  # N x P'
    num_uncertain = int(importance_sample_ratio * num_points)
    num_random = num_points - num_uncertain
    top = uncertainty.topk(num_uncertain, dim=1).indices
    chosen = torch.gather(candidates, 1, top[..., None].expand(-1, -1, 2))
    if num_random > 0:
        chosen = torch.cat([chosen, torch.rand(n, num_random, 2, device=mask_logits.device)], dim=1)
    return chosen
