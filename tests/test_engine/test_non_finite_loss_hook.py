"""NonFiniteLossHook: training stops at the first NaN/Inf loss term, before that iteration's update."""
import copy

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader

from focus_mm.engine import NonFiniteLossError, NonFiniteLossHook

BAD_ITER = 3  # 1-based, as the log's Iter(train) [k/N]


class _TwoLossModel(BaseModel):
    """A linear layer with two loss terms; ``term`` becomes ``bad_value`` on forward number ``bad_at``."""

    def __init__(self, term='loss_b', bad_at=BAD_ITER, bad_value=float('nan')):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(2, 1)
        self.term, self.bad_at, self.bad_value = term, bad_at, bad_value
        self.forwards = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode != 'loss':
            return out
        self.forwards += 1
        losses = dict(loss_a=out.pow(2).mean(), loss_b=(out - 1).abs().mean(), acc=out.mean().detach())
        if self.forwards == self.bad_at:
            losses[self.term] = losses[self.term] * self.bad_value
        return losses


class _RecordWeights(Hook):
    """Keeps a copy of the weights after every finished iteration (key: 1-based iteration)."""

    priority = 'LOWEST'

    def __init__(self):
        self.after = {}

    def before_train(self, runner):
        self.after[0] = copy.deepcopy(runner.model.state_dict())

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.after[runner.iter + 1] = copy.deepcopy(runner.model.state_dict())


def _runner(tmp_path, model, hooks, **optim):
    loader = DataLoader([dict(inputs=torch.tensor([1.0, -2.0]) * (i + 1)) for i in range(8)], batch_size=2)
    return Runner(model=model, work_dir=str(tmp_path), train_dataloader=loader,
                  train_cfg=dict(by_epoch=False, max_iters=BAD_ITER + 2),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9), **optim),
                  default_hooks=dict(checkpoint=None), custom_hooks=hooks, default_scope='mmseg')


@pytest.mark.parametrize('term,value', [('loss_b', float('nan')), ('loss_a', float('inf'))])
def test_stops_before_the_update_and_names_iteration_and_term(tmp_path, term, value):
    record = _RecordWeights()
    runner = _runner(tmp_path, _TwoLossModel(term, bad_value=value), [dict(type='NonFiniteLossHook'), record])
    with pytest.raises(NonFiniteLossError, match=rf'iteration {BAD_ITER}: {term}=(nan|inf)') as err:
        runner.train()
    other = {'loss_a', 'loss_b'} - {term}
    assert other.pop() not in str(err.value)  # only the bad term is named
    assert sorted(record.after) == list(range(BAD_ITER))  # iterations 1..k-1 finished, k did not
    before, now = record.after[BAD_ITER - 1], runner.model.state_dict()
    assert all(torch.isfinite(v).all() for v in now.values())
    for key in now:
        assert torch.equal(now[key], before[key]), key
    # the weights did move in the earlier iterations (the equality above is not trivial)
    assert not torch.equal(record.after[BAD_ITER - 1]['linear.weight'], record.after[0]['linear.weight'])


def test_without_the_hook_the_nan_reaches_the_weights(tmp_path):
    """What the hook prevents: mmengine alone applies the NaN step and trains on silently."""
    runner = _runner(tmp_path, _TwoLossModel(), [])
    runner.train()
    assert not torch.isfinite(runner.model.linear.weight).all()


def test_gradient_accumulation_stops_before_the_step(tmp_path):
    # with accumulative_counts=2 the step of iterations 3-4 has not run when iteration 3's loss is NaN
    record = _RecordWeights()
    runner = _runner(tmp_path, _TwoLossModel(), [NonFiniteLossHook(), record], accumulative_counts=2)
    with pytest.raises(NonFiniteLossError, match=f'iteration {BAD_ITER}: loss_b'):
        runner.train()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, record.after[BAD_ITER - 1][key])


def test_validation_forwards_and_finite_runs_are_untouched(tmp_path):
    runner = _runner(tmp_path, _TwoLossModel(bad_at=-1), [NonFiniteLossHook()])
    runner.train()
    assert torch.isfinite(runner.model.linear.weight).all()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook._handle is None  # the forward hook is removed after training
    # a NaN in a predict-mode forward is not the hook's business
    assert runner.model(torch.full((1, 2), float('nan')), mode='tensor').isnan().all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='AmpOptimWrapper needs CUDA')
def test_amp_optim_wrapper_stops_before_the_update(tmp_path):
    record = _RecordWeights()
    runner = _runner(tmp_path, _TwoLossModel(), [NonFiniteLossHook(), record], type='AmpOptimWrapper')
    with pytest.raises(NonFiniteLossError, match=f'iteration {BAD_ITER}: loss_b'):
        runner.train()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, record.after[BAD_ITER - 1][key])
