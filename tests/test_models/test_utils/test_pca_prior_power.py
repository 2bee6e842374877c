"""The exportable (power-iteration) solver of the M0 prior against torch.linalg.eigh."""
import pytest
import torch

from focus_mm.models.utils.pca_prior import (pca_foreground_prior, power_top_eigenvector, prior_solver,
                                             top_eigenvector)


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def _structured_tokens(batch, dims, h, w, seed):
    """'Trained-like' maps: a blob of one feature cluster on another, several weaker factors, noise."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing='ij')
    maps = []
    for _ in range(batch):
        cy, cx, r = (0.3 + 0.4 * torch.rand(3, generator=gen)).tolist()
        fg = (((yy - cy)**2 + (xx - cx)**2).sqrt() < 0.5 * r).float()
        factors = torch.randn(4, dims, generator=gen)
        fields = torch.stack([fg * 3, yy, xx, torch.sin(6 * yy) * 0.5])  # 4 x h x w
        tokens = torch.einsum('kd,khw->dhw', factors, fields)
        maps.append(tokens + 0.3 * torch.randn(dims, h, w, generator=gen))
    return torch.stack(maps)


@pytest.mark.parametrize('shape', [(4, 32, 8, 8), (4, 96, 19, 19), (2, 384, 16, 16), (2, 300, 10, 10)])
def test_power_prior_agrees_with_eigh_on_random_features(shape):
    # Gaussian noise: the smallest top eigen-gap a token map can have (D > N also takes the N x N path).
    tokens = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    exact = pca_foreground_prior(tokens, solver='eigh')
    power = pca_foreground_prior(tokens, solver='power')
    agreement = (exact == power).float().mean(dim=(1, 2))
    assert agreement.min() >= 0.995, agreement


@pytest.mark.parametrize('dims,h,w', [(96, 19, 19), (384, 37, 37)])
def test_power_prior_agrees_with_eigh_on_structured_features(dims, h, w):
    tokens = _structured_tokens(3, dims, h, w, seed=dims)
    exact = pca_foreground_prior(tokens, solver='eigh')
    power = pca_foreground_prior(tokens, solver='power')
    assert (exact == power).float().mean(dim=(1, 2)).min() >= 0.995
    assert exact.any() and (~exact).any()  # a real split, not a trivial all/none map


def test_power_eigenvector_matches_eigh_up_to_sign():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 200, 40, generator=gen)
    sym = x.transpose(1, 2) @ x
    exact = torch.linalg.eigh(sym)[1][:, :, -1]
    power = power_top_eigenvector(sym)
    cosine = (exact * power).sum(dim=1).abs()
    assert torch.allclose(cosine, torch.ones(2), atol=1e-4), cosine
    assert torch.allclose(power.norm(dim=1), torch.ones(2), atol=1e-5)
    # too few steps do not converge on a small gap: the test can fail
    assert (exact * power_top_eigenvector(sym, num_squarings=0, num_iters=1)).sum(dim=1).abs().min() < 0.999


def test_solver_choice_context_and_errors():
    tokens = torch.randn(1, 16, 6, 6)
    with prior_solver('power'):
        forced = pca_foreground_prior(tokens)
    assert torch.equal(forced, pca_foreground_prior(tokens, solver='power'))
    with pytest.raises(ValueError, match='solver'):
        top_eigenvector(torch.eye(3)[None], solver='svd')
    with pytest.raises(ValueError, match='solver'):
        with prior_solver('qr'):
            pass


def test_zero_matrix_gives_a_finite_vector():
    assert torch.isfinite(power_top_eigenvector(torch.zeros(1, 5, 5))).all()
