import pytest
import torch

from _tiny_models import single_thread
from focus_mm.models.utils import pca_foreground_prior, resize_prior


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def _tokens(fg: torch.Tensor, dims: int, noise: float = 0.1) -> torch.Tensor:
    a, b = torch.randn(dims) * 3, torch.randn(dims) * 3
    tokens = torch.where(fg[..., None], a, b) + noise * torch.randn(*fg.shape, dims)
    return tokens.permute(2, 0, 1)[None]


def _square(h=16, w=16):
    fg = torch.zeros(h, w, dtype=torch.bool)
    fg[4:10, 5:12] = True
    return fg


@pytest.mark.parametrize('dims', [24, 400])  # D < N and D > N take different eigen-decompositions
def test_prior_recovers_interior_object_with_either_sign(dims):
    fg = _square()
    tokens = _tokens(fg, dims)
    prior = pca_foreground_prior(torch.cat([tokens, -tokens]), threshold=0.6)
    assert prior.shape == (2, 16, 16) and prior.dtype == torch.bool
    assert torch.equal(prior[0], fg)
    assert torch.equal(prior[1], fg)  # the sign rule undoes the flipped component


def test_prior_is_per_image_and_deterministic():
    fg1, fg2 = _square(), torch.zeros(16, 16, dtype=torch.bool)
    fg2[8:14, 2:7] = True
    tokens = torch.cat([_tokens(fg1, 24), _tokens(fg2, 24)])
    first = pca_foreground_prior(tokens)
    assert torch.equal(first[0], fg1) and torch.equal(first[1], fg2)
    assert torch.equal(first, pca_foreground_prior(tokens))


def test_threshold_controls_the_binarisation():
    h, w = 8, 8
    ramp = torch.linspace(0, 1, h * w).view(1, 1, h, w)
    tokens = torch.cat([ramp, torch.zeros_like(ramp)], dim=1)  # component = the ramp itself
    low, high = pca_foreground_prior(tokens, 0.2), pca_foreground_prior(tokens, 0.8)
    assert low.sum() > high.sum() > 0
    assert (high & ~low).sum() == 0


def test_prior_rejects_token_sequences():
    with pytest.raises(ValueError, match='B x D x h x w'):
        pca_foreground_prior(torch.randn(2, 10, 8))


def test_resize_prior_keeps_regions():
    prior = torch.zeros(1, 4, 4, dtype=torch.bool)
    prior[:, :2, :2] = True
    out = resize_prior(prior, (8, 8))
    assert out.shape == (1, 8, 8) and out[0, :4, :4].all() and not out[0, 4:, :].any()
