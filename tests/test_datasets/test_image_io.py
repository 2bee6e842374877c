"""The one image reader (LoadForegroundImage, FocusInferencer, tools/infer.py): EXIF, GIF, truncation."""
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from PIL import Image

from focus_mm.datasets.image_io import read_image, uint16_to_uint8


def _pattern(h=24, w=36):
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 3] = (255, 0, 0)  # a red block in the top-left corner: shows any rotation
    img[h // 2:, w // 3:] = rng.integers(0, 255, (h - h // 2, w - w // 3, 3), dtype=np.uint8)
    return img


def _with_orientation(tmp_path, rgb, orientation, name='rot.jpg', **kwargs):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = str(tmp_path / name)
    Image.fromarray(rgb).save(path, exif=exif.tobytes(), **kwargs)
    return path


@pytest.mark.parametrize('orientation,turn', [(6, -1), (8, 1), (3, 2), (1, 0)])
def test_exif_orientation_is_applied(tmp_path, orientation, turn):
    rgb = _pattern()
    path = _with_orientation(tmp_path, rgb, orientation, name='rot.png')  # lossless: exact pixels
    bgr = read_image(path)
    np.testing.assert_array_equal(bgr, np.rot90(rgb, k=turn)[..., ::-1])


def test_pipeline_loader_and_inference_reader_give_the_same_pixels(tmp_path):
    init_default_scope('mmseg')
    path = _with_orientation(tmp_path, _pattern(), 6, quality=90)
    loaded = Compose([dict(type='LoadForegroundImage')])(dict(img_path=path))
    direct = read_image(path)
    np.testing.assert_array_equal(loaded['img'], direct)
    assert loaded['img'].shape == (36, 24, 3) and loaded['ori_shape'] == (36, 24) == loaded['img_shape']


def test_gif_is_read(tmp_path):
    rgb = _pattern()
    path = str(tmp_path / 'a.gif')
    Image.fromarray(rgb).convert('P', palette=Image.Palette.ADAPTIVE, colors=64).save(path)
    expected = np.asarray(Image.open(path).convert('RGB'))[..., ::-1]
    np.testing.assert_array_equal(read_image(path), expected)


def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path):
    import cv2
    path = tmp_path / 'cut.jpg'
    Image.fromarray(_pattern(240, 320)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 2 // 3])
    assert cv2.imread(str(path)) is not None  # OpenCV returns the decoded part without an error
    with pytest.raises(ValueError, match=r"cut\.jpg.*truncated"):
        read_image(str(path))
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match=r'cut\.jpg'):
        Compose([dict(type='LoadForegroundImage')])(dict(img_path=str(path)))
    assert Compose([dict(type='LoadForegroundImage', ignore_empty=True)])(dict(img_path=str(path))) is None


def test_gray_16bit_and_alpha_images(tmp_path):
    gray16 = (np.arange(24 * 36, dtype=np.uint16).reshape(24, 36) * 70)
    Image.fromarray(gray16).save(tmp_path / 'g16.png')
    out = read_image(str(tmp_path / 'g16.png'))
    assert out.shape == (24, 36, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 1], uint16_to_uint8(gray16))
    rgba = np.dstack([_pattern(), np.full((24, 36), 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / 'a.png')
    np.testing.assert_array_equal(read_image(str(tmp_path / 'a.png')), _pattern()[..., ::-1])
    with pytest.raises(ValueError, match='missing.png'):
        read_image(str(tmp_path / 'missing.png'))
