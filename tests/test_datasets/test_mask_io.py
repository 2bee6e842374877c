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


# ----------------------------------------------------------------------------- formats of issue 11.2
def _save(tmp_path, img, name, **kwargs):
    path = str(tmp_path / name)
    img.save(path, **kwargs)
    return path


def _disc(h=48, w=64):
    yy, xx = np.mgrid[:h, :w]
    return (yy - 24)**2 + (xx - 30)**2 < 15**2


def test_16bit_label_map_and_16bit_0_255(tmp_path):
    truth = _disc()
    for values, name in ((1, 'one.png'), (255, 'u8.png'), (65535, 'full.png')):
        path = _save(tmp_path, Image.fromarray(truth.astype(np.uint16) * values), name)
        assert Image.open(path).mode.startswith('I'), name  # really stored with 16 bits
        np.testing.assert_array_equal(read_foreground_mask(path), truth, err_msg=name)


def test_16bit_colour_png_label_map(tmp_path):
    import cv2
    truth = _disc()
    bgr = np.zeros(truth.shape + (3, ), np.uint16)
    bgr[truth] = 1  # 48-bit colour PNG with 0/1: Pillow alone would keep only the (zero) high bytes
    path = str(tmp_path / 'rgb16.png')
    assert cv2.imwrite(path, bgr)
    np.testing.assert_array_equal(read_foreground_mask(path), truth)


@pytest.mark.parametrize('quality,tolerance', [(75, 0.2), (95, 0.06)])
def test_jpeg_label_map(tmp_path, quality, tolerance):
    truth = _disc()
    path = _save(tmp_path, Image.fromarray(truth.astype(np.uint8)), 'm.jpg', quality=quality)
    decoded = np.asarray(Image.open(path))
    assert 1 <= decoded.max() < 16  # what the rule relies on
    fg = read_foreground_mask(path)
    # JPEG noise of +-1 on a 0/1 signal blurs the boundary (the quality sets how much): nothing
    # better can be read from such a file, but it is not empty and not shifted
    assert (fg != truth).sum() <= tolerance * truth.sum()
    assert fg[ndimage_erode(truth, 4)].mean() > 0.99 and not fg[ndimage_erode(~truth, 4)].any()


def ndimage_erode(mask, r):
    import cv2
    kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def test_jpeg_0_255_with_artefacts(tmp_path):
    truth = _disc()
    path = _save(tmp_path, Image.fromarray(truth.astype(np.uint8) * 255), 'm.jpg', quality=50)
    decoded = np.asarray(Image.open(path))
    assert decoded[~truth].max() > 16  # ringing in the background: the threshold removes it
    assert set(np.unique(decoded)) - {0, 255}  # really lossy
    np.testing.assert_array_equal(read_foreground_mask(path), truth)


@pytest.mark.parametrize('colour', [(255, 0, 0), (0, 0, 255), (0, 200, 0)])
@pytest.mark.parametrize('fmt', ['png', 'jpg'])
def test_coloured_masks_read_by_brightest_channel(tmp_path, colour, fmt):
    truth = _disc()
    rgb = np.zeros(truth.shape + (3, ), np.uint8)
    rgb[truth] = colour
    path = _save(tmp_path, Image.fromarray(rgb), f'm.{fmt}', **({'quality': 90} if fmt == 'jpg' else {}))
    fg = read_foreground_mask(path)
    if fmt == 'png':
        np.testing.assert_array_equal(fg, truth)
    else:  # chroma subsampling blurs a coloured edge by a pixel
        assert (fg != truth).sum() <= 0.05 * truth.sum()
        assert fg[ndimage_erode(truth, 2)].all()


@pytest.mark.parametrize('mode', ['RGBA', 'LA'])
@pytest.mark.parametrize('colour', [0, 255])
def test_mask_in_alpha_channel(tmp_path, mode, colour):
    truth = _disc()
    alpha = truth.astype(np.uint8) * 255
    channels = 3 if mode == 'RGBA' else 1
    arr = np.dstack([np.full(truth.shape, colour, np.uint8)] * channels + [alpha])
    path = _save(tmp_path, Image.fromarray(arr, mode=mode), 'm.png')
    np.testing.assert_array_equal(read_foreground_mask(path), truth)


def test_white_on_transparent_and_opaque_rgba(tmp_path):
    truth = _disc()
    u8 = truth.astype(np.uint8) * 255
    both = np.dstack([u8, u8, u8, u8])  # colour and alpha vary and agree
    path = _save(tmp_path, Image.fromarray(both), 'a.png')
    np.testing.assert_array_equal(read_foreground_mask(path), truth)
    opaque = np.dstack([u8, u8, u8, np.full_like(u8, 255)])  # alpha constant: ignored
    path = _save(tmp_path, Image.fromarray(opaque), 'b.png')
    np.testing.assert_array_equal(read_foreground_mask(path), truth)


def test_cut_out_image_is_refused_with_its_name(tmp_path):
    from focus_mm.datasets.mask_io import MaskFormatError
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, _disc().shape + (3, ), dtype=np.uint8)
    alpha = _disc().astype(np.uint8) * 255
    path = _save(tmp_path, Image.fromarray(np.dstack([photo, alpha])), 'cutout.png')
    with pytest.raises(MaskFormatError, match='cutout.png'):
        read_foreground_mask(path)


def test_all_zero_mask_is_legitimately_empty(tmp_path):
    zeros = np.zeros((20, 30), np.uint8)
    stores = (('z.png', Image.fromarray(zeros)), ('z16.png', Image.fromarray(zeros.astype(np.uint16))),
              ('z.jpg', Image.fromarray(zeros)), ('zrgba.png', Image.fromarray(np.dstack([zeros] * 4))))
    for name, img in stores:
        fg = read_foreground_mask(_save(tmp_path, img, name))
        assert fg.shape == (20, 30) and not fg.any(), name


@pytest.mark.parametrize('values', [np.uint8(100), np.uint16(3000), np.uint8(2)])
def test_values_without_foreground_are_an_error_naming_the_file(tmp_path, values):
    from focus_mm.datasets.mask_io import MaskFormatError
    mask = _disc().astype(type(values)) * values
    path = _save(tmp_path, Image.fromarray(mask), 'faint_mask.png')
    with pytest.raises(MaskFormatError, match='faint_mask.png'):
        read_foreground_mask(path)


def test_uint16_to_uint8_is_round_of_the_linear_scale():
    from focus_mm.datasets.image_io import uint16_to_uint8
    v = np.arange(65536, dtype=np.uint16)
    expected = np.floor(v.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(uint16_to_uint8(v), expected)
