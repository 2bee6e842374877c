import pytest
import torch

from focus_mm.models.utils import pca_foreground_prior, resize_prior, valid_token_mask


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


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


def test_valid_token_mask_follows_the_image_size():
    # 64 x 64 image in a 64 x 96 batch, patch 14: a 5 x 7 grid, the image owns the left 5 x 5 tokens.
    valid = valid_token_mask([(64, 64), (64, 96)], (5, 7), 14)
    assert valid.shape == (2, 5, 7)
    assert valid[0, :, :5].all() and not valid[0, :, 5:].any() and valid[1].all()
    # A token that holds any image pixel belongs to the image: 500 px -> 36 of the 37 tokens of 512.
    assert valid_token_mask([(500, 512)], (37, 37), 14)[0].any(dim=1).sum() == 36


@pytest.mark.parametrize('dims', [24, 400])
def test_padding_takes_no_part_in_the_prior(dims):
    """An image's prior alone equals its prior padded in a batch, whatever the padding tokens hold."""
    fg = torch.zeros(6, 6, dtype=torch.bool)
    fg[2:5, 1:4] = True
    tokens = _tokens(fg, dims)
    alone = torch.cat([tokens, -tokens])  # both signs of the component: the sign rule on the image's border
    padding = 20 * torch.randn(1, dims, 6, 1).expand(2, -1, -1, 4)
    padded = torch.cat([alone, padding], dim=3)  # 6 x 10 grid
    valid = valid_token_mask([(84, 84)] * 2, (6, 10), 14)
    prior_alone = pca_foreground_prior(alone)
    assert torch.equal(prior_alone[0], fg) and torch.equal(prior_alone[1], fg)
    prior = pca_foreground_prior(padded, valid=valid)
    assert torch.equal(prior[:, :, :6], prior_alone) and not prior[:, :, 6:].any()
    # Without the valid map the padding takes the first component over ("content vs padding").
    agree = (pca_foreground_prior(padded)[:, :, :6] == prior_alone).float().mean()
    assert agree < 0.99


def test_bad_valid_maps_are_refused():
    tokens = torch.randn(1, 4, 5, 5)
    with pytest.raises(ValueError, match='bool B x h x w'):
        pca_foreground_prior(tokens, valid=torch.ones(1, 5, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='no valid token'):
        pca_foreground_prior(tokens, valid=torch.zeros(1, 5, 5, dtype=torch.bool))
