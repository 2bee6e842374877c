"""The mini-benchmark generator: deterministic bytes, exact masks, a cache that builds once."""
import filecmp
import multiprocessing as mp
import os

import numpy as np
import pytest

from focus_mm.datasets import MiniBenchDataset
from focus_mm.datasets.mask_io import read_foreground_mask
from focus_mm.datasets.mini_bench import TASKS, ensure_mini_bench, make_sample

TINY = dict(num_train=2, num_test=1, size_range=(40, 56))


def _files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def test_same_seed_gives_identical_bytes(tmp_path):
    a = ensure_mini_bench('fd', root=str(tmp_path / 'a'), seed=3, **TINY)
    b = ensure_mini_bench('fd', root=str(tmp_path / 'b'), seed=3, **TINY)
    c = ensure_mini_bench('fd', root=str(tmp_path / 'c'), seed=4, **TINY)
    files = [f for f in _files(a) if f.endswith('.png')]
    assert len(files) == 2 * (2 + 1)
    assert all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False) for f in files)
    assert not all(filecmp.cmp(os.path.join(a, f), os.path.join(c, f), shallow=False) for f in files)


@pytest.mark.parametrize('task', TASKS)
def test_masks_match_the_pasted_regions_exactly(task):
    for index in range(3):
        s = make_sample(task, 'train', index, seed=0, size_range=(48, 64))
        assert s.image.dtype == np.uint8 and s.image.shape == (*s.mask.shape, 3)
        assert 0 < s.mask.mean() < 1
        if task == 'sd':
            # unshaded where the shadow strength is 0, darker where the mask is, mask = strength >= 0.5
            untouched = s.alpha == 0
            np.testing.assert_array_equal(s.image[untouched], s.outside[untouched])
            np.testing.assert_array_equal(s.mask, s.alpha >= 0.5)
            assert (s.image[s.mask].astype(int) <= s.outside[s.mask].astype(int)).all()
            assert s.image[s.mask].mean() < 0.8 * max(s.outside[s.mask].mean(), 1)
        else:
            np.testing.assert_array_equal(s.image[s.mask], s.inside[s.mask])
            np.testing.assert_array_equal(s.image[~s.mask], s.outside[~s.mask])
            assert (s.inside[s.mask] != s.outside[s.mask]).any()  # the region really differs


def test_saved_masks_are_the_generated_ones(tmp_path):
    folder = ensure_mini_bench('cod', root=str(tmp_path), seed=0, **TINY)
    for i in range(2):
        saved = read_foreground_mask(os.path.join(folder, 'train', 'masks', f'cod_train_{i:04d}.png'))
        np.testing.assert_array_equal(saved, make_sample('cod', 'train', i, 0, TINY['size_range']).mask)


def _build(root):
    ensure_mini_bench('sd', root=root, seed=0, **TINY)


def test_cache_builds_once_and_concurrently(tmp_path):
    root = str(tmp_path)
    ctx = mp.get_context('fork')
    procs = [ctx.Process(target=_build, args=(root, )) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert sorted(os.listdir(root)) == ['.sd.lock', 'sd']  # no temporary folder left behind
    assert os.stat(os.path.join(root, 'sd')).st_mode & 0o777 == 0o755  # readable by other users
    meta = os.path.join(root, 'sd', 'meta.json')
    stamp = os.stat(meta).st_mtime_ns
    ds = MiniBenchDataset(task='sd', split='test', data_root=root, seed=0, **TINY)
    assert len(ds) == 1 and ds.get_data_info(0)['dataset_name'] == 'mini_sd_test'
    assert os.stat(meta).st_mtime_ns == stamp  # reused, not rebuilt
    MiniBenchDataset(task='sd', split='train', data_root=root, seed=1, **TINY)  # other params: rebuilt
    assert os.stat(meta).st_mtime_ns != stamp
