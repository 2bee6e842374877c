"""ForegroundDataset: pairing, suffixes, filters, and the errors a wrong layout gives."""
import logging
import os

import numpy as np
import pytest
from PIL import Image

from focus_mm.datasets import ForegroundDataset


def _write(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _layout(root, names, img_ext='.jpg', mask_ext='.png', img_dir='Imgs', mask_dir='GT', skip_masks=()):
    for n in names:
        _write(os.path.join(root, img_dir, n + img_ext), np.full((8, 10, 3), 90, np.uint8))
        if n not in skip_masks:
            _write(os.path.join(root, mask_dir, n + mask_ext), np.zeros((8, 10), np.uint8))


def test_pairs_images_with_masks(tmp_path):
    _layout(str(tmp_path), ['b', 'a', 'sub/c'])
    _write(str(tmp_path / 'GT' / 'extra.png'), np.zeros((8, 10), np.uint8))  # masks of another split: fine
    ds = ForegroundDataset(data_root=str(tmp_path), data_prefix=dict(img_path='Imgs', seg_map_path='GT'),
                           dataset_name='toy', expected_size=3)
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('Imgs/a.jpg') and info['seg_map_path'].endswith('GT/a.png')
    assert info['dataset_name'] == 'toy'
    assert ds.get_data_info(2)['seg_map_path'].endswith('GT/sub/c.png')
    assert ds.metainfo['classes'] == ('background', 'foreground')


def test_multiple_suffixes_same_folder_and_name_filter(tmp_path):
    root = str(tmp_path)
    _layout(root, ['COD10K-CAM-1', 'COD10K-NonCAM-2'], img_dir='X', mask_dir='X', mask_ext='_gt.png')
    _write(os.path.join(root, 'X', 'COD10K-CAM-3.tif'), np.zeros((8, 10, 3), np.uint8))
    _write(os.path.join(root, 'X', 'COD10K-CAM-3_gt.png'), np.zeros((8, 10), np.uint8))
    ds = ForegroundDataset(data_root=root, data_prefix=dict(img_path='X', seg_map_path='X'),
                           img_suffix=('.jpg', '.tif'), seg_map_suffix='_gt.png', name_filter='COD10K-CAM-*')
    names = [os.path.basename(d['img_path']) for d in ds.load_data_list()]
    assert names == ['COD10K-CAM-1.jpg', 'COD10K-CAM-3.tif']


def test_images_without_masks_fail_with_count_and_names(tmp_path):
    _layout(str(tmp_path), [f'im{i}' for i in range(8)], skip_masks=('im1', 'im5'))
    with pytest.raises(FileNotFoundError, match=r"2 of 8 images.*im1\.jpg.*im5\.jpg"):
        ForegroundDataset(data_root=str(tmp_path), data_prefix=dict(img_path='Imgs', seg_map_path='GT'))


def test_missing_or_empty_folders_fail(tmp_path):
    with pytest.raises(FileNotFoundError, match='image folder .*Imgs.* does not exist'):
        ForegroundDataset(data_root=str(tmp_path), data_prefix=dict(img_path='Imgs', seg_map_path='GT'))
    os.makedirs(tmp_path / 'Imgs')
    os.makedirs(tmp_path / 'GT')
    with pytest.raises(FileNotFoundError, match='no image ending in'):
        ForegroundDataset(data_root=str(tmp_path), data_prefix=dict(img_path='Imgs', seg_map_path='GT'))


def test_size_mismatch_with_release_warns(tmp_path, monkeypatch):
    import focus_mm.datasets.foreground_dataset as module
    logged = []
    monkeypatch.setattr(module, 'print_log', lambda msg, **kw: logged.append((msg, kw.get('level'))))
    _layout(str(tmp_path), ['a', 'b'])
    ds = ForegroundDataset(data_root=str(tmp_path), data_prefix=dict(img_path='Imgs', seg_map_path='GT'),
                           expected_size=250, dataset_name='CAMO')
    assert len(ds) == 2
    assert len(logged) == 1 and logged[0][1] == logging.WARNING
    assert 'found 2 image/mask pairs' in logged[0][0] and 'has 250' in logged[0][0]


def test_ann_file_selects_images(tmp_path):
    _layout(str(tmp_path), ['a', 'b', 'c'])
    (tmp_path / 'split.txt').write_text('c\na\n')
    ds = ForegroundDataset(data_root=str(tmp_path), ann_file='split.txt',
                           data_prefix=dict(img_path='Imgs', seg_map_path='GT'))
    assert [os.path.basename(d['img_path']) for d in ds.load_data_list()] == ['a.jpg', 'c.jpg']
    (tmp_path / 'bad.txt').write_text('zz\n')
    with pytest.raises(FileNotFoundError, match='zz'):
        ForegroundDataset(data_root=str(tmp_path), ann_file='bad.txt',
                          data_prefix=dict(img_path='Imgs', seg_map_path='GT'))


def test_suffix_is_matched_in_any_case(tmp_path):
    root = str(tmp_path)
    _layout(root, ['a'])
    _write(os.path.join(root, 'Imgs', 'B.JPG'), np.full((8, 10, 3), 90, np.uint8))
    _write(os.path.join(root, 'GT', 'B.png'), np.zeros((8, 10), np.uint8))
    _write(os.path.join(root, 'Imgs', 'c.Jpg'), np.full((8, 10, 3), 90, np.uint8))
    _write(os.path.join(root, 'GT', 'c.PNG'), np.zeros((8, 10), np.uint8))
    ds = ForegroundDataset(data_root=root, data_prefix=dict(img_path='Imgs', seg_map_path='GT'),
                           img_suffix='.jpg')
    pairs = [(os.path.basename(d['img_path']), os.path.basename(d['seg_map_path']))
             for d in ds.load_data_list()]
    assert pairs == [('B.JPG', 'B.png'), ('a.jpg', 'a.png'), ('c.Jpg', 'c.PNG')]


def test_pair_files_reports_instead_of_raising(tmp_path):
    root = str(tmp_path)
    _layout(root, ['a', 'b', 'c'], skip_masks=('b', ))
    _write(os.path.join(root, 'GT', 'other_split.png'), np.zeros((8, 10), np.uint8))
    ds = ForegroundDataset(data_root=root, data_prefix=dict(img_path='Imgs', seg_map_path='GT'),
                           lazy_init=True)
    data_list, unmatched, unused = ds.pair_files()
    assert [os.path.basename(d['img_path']) for d in data_list] == ['a.jpg', 'c.jpg']
    assert unmatched == ['b.jpg'] and unused == ['other_split.png']
