"""focus_mm.utils.load_checkpoint_strict: the one strict loader (backbone, neck, APIs)."""
import pytest
import torch
from torch import nn

from focus_mm.utils import load_checkpoint_strict


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def test_loads_with_prefix_revise_and_ignore(tmp_path):
    src = _net()
    state = {f'backbone.module.{k}': v for k, v in src.state_dict().items() if 'num_batches' not in k}
    state['backbone.module.fc.weight'] = torch.zeros(1)
    state['head.x'] = torch.zeros(1)
    path = tmp_path / 'whole_model.pth'
    torch.save({'state_dict': state, 'meta': {'iter': 3}}, path)
    dst = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    ckpt = load_checkpoint_strict(dst, str(path), prefix=None, revise_keys=[(r'^module\.', '')],
                                  ignore_keys=('module.fc.weight', ))
    assert ckpt['meta']['iter'] == 3
    for key, value in src.state_dict().items():
        if 'num_batches' not in key:  # a counter, absent from many published files: not required
            torch.testing.assert_close(dst.state_dict()[key], value)


def test_mismatch_names_the_file_and_the_keys(tmp_path):
    state = _net().state_dict()
    state['0.weight'] = torch.zeros(4, 3, 5, 5)
    state['extra.bias'] = torch.zeros(1)
    del state['1.running_var']
    path = tmp_path / 'other.pth'
    torch.save(state, path)
    with pytest.raises(RuntimeError) as err:
        load_checkpoint_strict(_net(), str(path), what='EdgeNet', hint='Use the edge weights.')
    msg = str(err.value)
    assert msg.startswith('EdgeNet: checkpoint ') and 'other.pth does not fit this model' in msg
    assert 'missing keys (1): [1.running_var]' in msg and 'unexpected keys (1): [extra.bias]' in msg
    assert '0.weight (4, 3, 5, 5) vs (4, 3, 3, 3)' in msg and msg.endswith('Use the edge weights.')
    with pytest.raises(RuntimeError, match="no key of .*other.pth starts with prefix 'backbone.'"):
        load_checkpoint_strict(_net(), str(path), prefix='backbone.')
