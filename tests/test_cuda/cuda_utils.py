"""Marks and comparisons shared by the CUDA tests."""
import pytest
import torch

NO_GPU = 'needs a CUDA GPU (torch.cuda.is_available() is False)'
#: ``pytestmark = CUDA_MARKS`` in every CUDA test module: marked ``cuda``, skipped without a GPU.
CUDA_MARKS = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)]


def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``|actual - expected| / |expected|`` (Frobenius norms, float64 on the CPU)."""
    actual, expected = actual.detach().double().cpu(), expected.detach().double().cpu()
    return ((actual - expected).norm() / expected.norm().clamp_min(1e-12)).item()
