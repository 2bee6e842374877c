"""EdgePrior: Canny on the raw uint8 pixels, the 0.7/0.3 blend, input conversions, packing."""
import cv2
import numpy as np
import pytest
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


def square_image() -> np.ndarray:
    """Dark-grey 64x64 image with a bright square at rows/cols 20..43 (a known edge layout)."""
    img = np.full((64, 64, 3), (40, 50, 60), np.uint8)
    img[20:44, 20:44] = (200, 210, 220)
    return img


def test_edges_are_opencv_canny_of_the_blurred_gray_image():
    img = square_image()
    out = TRANSFORMS.build(dict(type='EdgePrior')).transform(dict(img=img.copy()))['img']
    assert out.shape == (64, 64, 6) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., :3], img)

    # OpenCV's own pipeline, step by step: gray -> Gaussian 5x5 sigma 1.4 -> Canny(100, 200).
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 1.4), 100, 200)
    assert set(np.unique(edges)) == {0, 255}
    # where Canny fires, the blend is round(0.7 * v + 0.3 * 255); elsewhere round(0.7 * v)
    expected = np.round(0.7 * img.astype(np.float64) + 0.3 * edges[..., None].astype(np.float64))
    np.testing.assert_array_equal(out[..., 3:], expected.astype(np.uint8))

    # The edges outline the square: on its border band, nowhere far from it.
    ys, xs = np.nonzero(edges)
    assert ys.min() >= 18 and ys.max() <= 45 and xs.min() >= 18 and xs.max() <= 45
    assert not edges[24:40, 24:40].any() and not edges[:16].any()
    for row in range(24, 40):  # every row crossing the square has its left and right edge
        assert edges[row, 18:23].any() and edges[row, 41:46].any()


def test_gray_bgra_and_16bit_inputs_are_converted():
    transform = TRANSFORMS.build(dict(type='EdgePrior'))
    bgr = square_image()
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    for img in (gray, gray[..., None]):
        out = transform.transform(dict(img=img))['img']
        assert out.shape == (64, 64, 6)
        np.testing.assert_array_equal(out[..., 0], gray)
        np.testing.assert_array_equal(out[..., 2], gray)

    bgra = np.concatenate([bgr, np.full((64, 64, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(transform.transform(dict(img=bgra))['img'],
                                  transform.transform(dict(img=bgr.copy()))['img'])

    sixteen = bgr.astype(np.uint16) * 257  # v * 257 maps 0..255 onto 0..65535 exactly
    sixteen[0, 0, 0] = 65535 // 2  # 32767 -> round(127.498) = 127
    out = transform.transform(dict(img=sixteen))['img']
    expected = bgr.copy()
    expected[0, 0, 0] = 127
    np.testing.assert_array_equal(out[..., :3], expected)


@pytest.mark.parametrize('img, message', [
    (np.zeros((8, 8, 3), np.float32), 'uint8'),
    (np.zeros((8, 8, 2), np.uint8), r'H x W x 3 BGR'),
    (np.zeros((8, 8, 6), np.uint8), 'applied twice'),
])
def test_unsupported_images_are_refused_with_the_expected_format(img, message):
    with pytest.raises((TypeError, ValueError), match=message):
        TRANSFORMS.build(dict(type='EdgePrior')).transform(dict(img=img))


def test_pack_seg_inputs_packs_six_channels():
    results = TRANSFORMS.build(dict(type='EdgePrior')).transform(
        dict(img=square_image(), img_shape=(64, 64), ori_shape=(64, 64), img_path='square.png'))
    packed = PackSegInputs().transform(results)
    assert packed['inputs'].shape == (6, 64, 64)
    np.testing.assert_array_equal(packed['inputs'].permute(1, 2, 0).numpy(), results['img'])
