"""TaskNormAffine: per-task scale and shift of a shared CNN's batch-norm outputs, by forward hooks."""
import copy

import pytest
import torch
from torch import nn

from focus_mm.models.layers import TaskNormAffine

pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2)).eval()


class _Owner(nn.Module):
    """A neck-like parent: the CNN and its affine side by side (as EdgeEnhancerNeck holds them)."""

    def __init__(self):
        super().__init__()
        self.cnn = _cnn()
        self.affine = TaskNormAffine(self.cnn, num_tasks=3)

    def forward(self, x, task_ids):
        with self.affine.tasks(task_ids):
            return self.cnn(x)


def test_zero_init_is_the_shared_cnn_and_keeps_its_keys():
    shared = _cnn()
    keys = list(shared.state_dict())
    owner = _Owner()
    assert list(owner.cnn.state_dict()) == keys  # hooks, not wrappers: pretrained weights still load
    assert owner.affine.channels == [4, 2] and owner.affine.scale.weight.shape == (3, 6)
    x = torch.randn(3, 3, 8, 8)
    assert torch.equal(owner(x, torch.tensor([0, 1, 2])), shared(x))


def test_each_sample_gets_its_tasks_scale_and_shift():
    owner = _Owner()
    with torch.no_grad():
        owner.affine.scale.weight.copy_(torch.arange(18.).view(3, 6) / 10)
        owner.affine.shift.weight.copy_(-torch.arange(18.).view(3, 6))
    x = torch.randn(2, 3, 8, 8)
    task_ids = torch.tensor([2, 0])
    # by hand: the same layers, the affine of each sample's task after each batch norm
    cnn = owner.cnn
    scale, shift = owner.affine.scale.weight[task_ids], owner.affine.shift.weight[task_ids]
    with torch.no_grad():
        h = cnn[0](x)
        h = nn.functional.batch_norm(h, cnn[1].running_mean, cnn[1].running_var, cnn[1].weight, cnn[1].bias)
        h = h * (1 + scale[:, :4, None, None]) + shift[:, :4, None, None]
        h = cnn[3](h.relu())
        h = nn.functional.batch_norm(h, cnn[4].running_mean, cnn[4].running_var, cnn[4].weight, cnn[4].bias)
        expected = h * (1 + scale[:, 4:, None, None]) + shift[:, 4:, None, None]
        out = owner(x, task_ids)
    assert torch.allclose(out, expected, atol=1e-6)
    with torch.no_grad():
        swapped = owner(x, torch.tensor([0, 2]))
    assert not torch.allclose(swapped, out)


def test_gradients_reach_only_the_tasks_in_the_batch():
    owner = _Owner().train()
    owner(torch.randn(4, 3, 8, 8), torch.tensor([0, 2, 0, 2])).square().mean().backward()
    for param in (owner.affine.scale.weight, owner.affine.shift.weight):
        norms = param.grad.norm(dim=1)
        assert norms[0] > 0 and norms[2] > 0 and norms[1] == 0, norms


def test_deepcopy_keeps_the_hooks_on_the_copys_own_parameters():
    owner = _Owner()
    twin = copy.deepcopy(owner)
    with torch.no_grad():
        twin.affine.shift.weight[:, 4:] = 1.0  # the last batch norm's two channels
    x, ids = torch.randn(1, 3, 8, 8), torch.tensor([1])
    with torch.no_grad():
        # the copy's shift, not the original's
        assert torch.allclose(twin(x, ids), owner(x, ids) + 1, atol=1e-6)


def test_misuse_fails_clearly():
    owner = _Owner()
    with pytest.raises(RuntimeError, match='without task ids'):
        owner.cnn(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match='2 task ids for a batch of 3'):
        owner(torch.randn(3, 3, 8, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='1-D'):
        owner(torch.randn(1, 3, 8, 8), torch.tensor(0))
    with pytest.raises(ValueError, match='no batch-norm layer'):
        TaskNormAffine(nn.Conv2d(3, 3, 1), num_tasks=2)
