"""tools/misc/check_dataset.py on a small folder dataset with one problem of each kind."""
import os
import os.path as osp

import numpy as np
from PIL import Image

from _tools import load_tool

check_dataset = load_tool('misc', 'check_dataset')


def _write(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _mask(h, w, frac_rows):
    m = np.zeros((h, w), np.uint8)
    m[:int(h * frac_rows)] = 255
    return m


def _config(tmp_path, train_root, test_root):
    path = tmp_path / 'cfg.py'
    ds = ("dict(type='ForegroundDataset', data_root={!r}, "
          "data_prefix=dict(img_path='Imgs', seg_map_path='GT'))")
    path.write_text(f"default_scope = 'mmseg'\n"
                    f"train_dataloader = dict(dataset={ds.format(train_root)})\n"
                    f"test_dataloader = dict(dataset=dict(type='ConcatDataset', "
                    f"datasets=[{ds.format(test_root)}]))\n")
    return str(path)


def test_reports_every_kind_of_problem_and_exits_non_zero(tmp_path, capsys):
    bad, good = str(tmp_path / 'bad'), str(tmp_path / 'good')
    img = np.full((8, 10, 3), 90, np.uint8)
    for name in ('a', 'b', 'c', 'd', 'e'):
        _write(osp.join(bad, 'Imgs', name + '.jpg'), img)
    _write(osp.join(bad, 'GT', 'a.png'), _mask(8, 10, 0.5))      # fine, fraction 0.5
    _write(osp.join(bad, 'GT', 'b.png'), _mask(9, 10, 0.5))      # size mismatch
    # c: no mask
    _write(osp.join(bad, 'GT', 'd.png'), np.zeros((8, 10), np.uint8))  # empty: reported, not a problem
    # e: values but no foreground (0/60)
    _write(osp.join(bad, 'GT', 'e.png'), (_mask(8, 10, 0.5) > 0).astype(np.uint8) * 60)
    _write(osp.join(bad, 'GT', 'other.png'), _mask(8, 10, 0.25))  # mask of another split
    for name, frac in (('x', 0.25), ('y', 0.75)):
        _write(osp.join(good, 'Imgs', name + '.jpg'), img)
        _write(osp.join(good, 'GT', name + '.png'), _mask(8, 10, frac))

    code = check_dataset.main([_config(tmp_path, bad, good)])
    out = capsys.readouterr().out
    assert code == 1, out
    train = next(line for line in out.splitlines() if line.startswith('[train]'))
    for expected in ('images 5', 'masks 5', 'pairs 4', 'images without mask 1', 'masks without image 1',
                     'unreadable/refused masks 1', 'empty masks 1', 'size mismatches 1',
                     'foreground fraction 0.0000 .. 0.5000'):
        assert expected in train, (expected, train)
    assert 'c.jpg' in out and 'e.png' in out and 'b.png' in out
    test = next(line for line in out.splitlines() if line.startswith('[test]'))
    assert 'pairs 2' in test and 'foreground fraction 0.2500 .. 0.7500' in test
    assert 'PROBLEMS' in out

    code = check_dataset.main([_config(tmp_path, good, good), '--splits', 'train', 'test'])
    out = capsys.readouterr().out
    assert code == 0 and 'OK: no problems found' in out, out
