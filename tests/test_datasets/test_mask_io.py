"""Mask reading: every storage the datasets use binarises to the same foreground."""
import numpy as np
import pytest
from PIL import Image

from focus_mm.datasets.mask_io import read_foreground_mask


def _truth(h=12, w=16):
    m = np.zeros((h, w), bool)
    m[3:9, 4:12] = True
    return m


@pytest.mark.parametrize('storage',
                         ['gray255', 'gray01', 'rgb', 'palette_gray', 'palette_voc', 'gray16', 'mode1'])
def test_storages_binarise_identically(tmp_path, storage):
    truth = _truth()
    u8 = truth.astype(np.uint8)
    if storage == 'gray255':
        img = Image.fromarray(u8 * 255)
    elif storage == 'gray01':
        img = Image.fromarray(u8)
    elif storage == 'rgb':
        img = Image.fromarray(np.stack([u8 * 255] * 3, -1))
    elif storage == 'palette_gray':
        img = Image.fromarray(u8, mode='L').convert('P')  # indices 0/1 -> palette
        img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    elif storage == 'palette_voc':  # index 1 is dark red (luma 38): still foreground
        img = Image.fromarray(u8, mode='L').convert('P')
        img.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    elif storage == 'gray16':
        img = Image.fromarray(u8.astype(np.uint16) * 65535)
    else:
        img = Image.fromarray(truth)
    path = str(tmp_path / 'm.png')
    img.save(path)
    np.testing.assert_array_equal(read_foreground_mask(path), truth)


def test_threshold_is_strictly_above_128(tmp_path):
    values = np.array([[0, 128, 129, 255]], np.uint8)
    Image.fromarray(values).save(tmp_path / 'm.png')
    np.testing.assert_array_equal(read_foreground_mask(str(tmp_path / 'm.png')), [[False, False, True, True]])


def test_missing_and_unreadable_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.png'):
        read_foreground_mask(str(tmp_path / 'nope.png'))
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    with pytest.raises(OSError, match='broken.png'):
        read_foreground_mask(str(bad))
