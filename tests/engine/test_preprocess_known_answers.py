"""Known answers for engine/preprocess.py: literal pixel arrays, resizes whose result numpy states
exactly (nearest-neighbour repeats, area means over whole blocks), Pillow's filters called here
directly, and the (x / 255 − mean) / std closed form."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.errors import EngineError
from engine.manifest import ImagePreprocess
from engine.preprocess import _center_crop, _short_side_size, as_rgb_uint8, preprocess_image

MEAN = (0.5, 0.25, 0.125)
STD = (0.5, 0.25, 2.0)


def _config(size, mode="shortest", interpolation="nearest"):
    return ImagePreprocess(size, MEAN, STD, mode, interpolation)


def _normalised(rgb: np.ndarray) -> np.ndarray:
    """[1, 3, H, W] of (rgb / 255 − mean) / std, in float64."""
    x = rgb.astype(np.float64).transpose(2, 0, 1) / 255.0
    return ((x - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None])[None]


def _ramp(h: int, w: int) -> np.ndarray:
    return (np.arange(h * w * 3) * 7 % 256).astype(np.uint8).reshape(h, w, 3)


def test_as_rgb_uint8_accepts_grey_rgb_and_rgba():
    grey = np.array([[0, 10], [20, 255]], np.uint8)
    np.testing.assert_array_equal(as_rgb_uint8(grey), [[[0] * 3, [10] * 3], [[20] * 3, [255] * 3]])
    rgba = np.arange(16, dtype=np.uint8).reshape(2, 2, 4)
    out = as_rgb_uint8(rgba)
    np.testing.assert_array_equal(out, [[[0, 1, 2], [4, 5, 6]], [[8, 9, 10], [12, 13, 14]]])
    assert out.flags.c_contiguous and out.dtype == np.uint8
    rgb = _ramp(1, 1)
    np.testing.assert_array_equal(as_rgb_uint8(rgb), rgb)


def test_as_rgb_uint8_rejects_other_frames():
    for bad in (np.zeros((2, 2, 3), np.float32), np.zeros((2, 2, 3), np.int64),
                np.zeros((2, 2, 2), np.uint8),
                np.zeros((2, 2, 5), np.uint8), np.zeros((0, 2, 3), np.uint8), np.zeros((2, 0, 3), np.uint8),
                np.zeros((1, 2, 2, 3), np.uint8), np.zeros(3, np.uint8)):
        with pytest.raises(EngineError):
            as_rgb_uint8(bad)


def test_short_side_size_truncates_the_long_side():
    assert _short_side_size(640, 480, 224) == (298, 224)  # 224 · 640 / 480 = 298.67
    assert _short_side_size(480, 640, 224) == (224, 298)
    assert _short_side_size(300, 300, 224) == (224, 224)
    assert _short_side_size(3, 5, 2) == (2, 3)  # 2 · 5 / 3 = 3.33


def test_center_crop_offsets_and_padding():
    rgb = _ramp(3, 5)
    crop = np.asarray(_center_crop(Image.fromarray(rgb), 3))
    np.testing.assert_array_equal(crop, rgb[:, 1:4])  # left = round(2 / 2) = 1
    tall = _ramp(6, 2)
    np.testing.assert_array_equal(np.asarray(_center_crop(Image.fromarray(tall), 2)), tall[2:4])
    odd = _ramp(4, 4)
    # offsets round(0.5) = 0 and round(1.5) = 2 (Python's rounding, as torchvision)
    np.testing.assert_array_equal(np.asarray(_center_crop(Image.fromarray(odd), 3)), odd[0:3, 0:3])
    odd7 = _ramp(7, 7)
    np.testing.assert_array_equal(np.asarray(_center_crop(Image.fromarray(odd7), 4)), odd7[2:6, 2:6])
    small = _ramp(1, 2)  # padded onto a black 4×4 canvas at ((4 − 2) // 2, (4 − 1) // 2) = (1, 1)
    expected = np.zeros((4, 4, 3), np.uint8)
    expected[1:2, 1:3] = small
    np.testing.assert_array_equal(np.asarray(_center_crop(Image.fromarray(small), 4)), expected)
    wide = _ramp(2, 6)  # height 2 < 4: canvas 6×4, image at (0, 1), then the centre 4 columns
    canvas = np.zeros((4, 6, 3), np.uint8)
    canvas[1:3] = wide
    np.testing.assert_array_equal(np.asarray(_center_crop(Image.fromarray(wide), 4)), canvas[:, 1:5])


def test_squash_nearest_repeats_pixels_and_normalises():
    rgb = _ramp(2, 2)
    pixels = preprocess_image(rgb, _config(4, "squash"))
    assert pixels.shape == (1, 3, 4, 4) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels, _normalised(rgb.repeat(2, 0).repeat(2, 1)), atol=1e-6)


def test_shortest_side_resizes_then_crops_the_centre():
    rgb = _ramp(2, 4)  # already 2 high: no resize, centre 2 columns of 4
    np.testing.assert_allclose(preprocess_image(rgb, _config(2)), _normalised(rgb[:, 1:3]), atol=1e-6)
    wide = _ramp(1, 3)  # short side 1 → 2: 6 × 2 nearest, then columns 2..4
    expected = wide.repeat(2, 0).repeat(2, 1)[:, 2:4]
    np.testing.assert_allclose(preprocess_image(wide, _config(2)), _normalised(expected), atol=1e-6)
    grey = np.full((3, 3), 51, np.uint8)
    np.testing.assert_allclose(preprocess_image(grey, _config(3)), _normalised(np.full((3, 3, 3), 51)),
                               atol=1e-6)


def test_area_squash_averages_whole_blocks():
    square = _ramp(6, 6)  # 6×6 → 2×2: each output pixel is the rounded mean of a 3×3 block
    blocks = square.astype(np.float64).reshape(2, 3, 2, 3, 3).mean(axis=(1, 3))
    got = preprocess_image(square, _config(2, "area-squash", "bicubic"))
    np.testing.assert_allclose(got, _normalised(np.round(blocks)), atol=1e-6)
    wide = _ramp(2, 4)  # squashed, not cropped: 2×4 → 2×2 averages column pairs
    pairs = wide.astype(np.float64).reshape(2, 2, 2, 3).mean(axis=2)
    np.testing.assert_allclose(preprocess_image(wide, _config(2, "area-squash")),
                               _normalised(np.round(pairs)), atol=1e-6)


def test_interpolation_names_select_pillow_filters():
    rgb = _ramp(5, 7)
    for interpolation, resample in (("bicubic", Image.Resampling.BICUBIC),
                                    ("bilinear", Image.Resampling.BILINEAR),
                                    ("lanczos", Image.Resampling.LANCZOS),
                                    ("nearest", Image.Resampling.NEAREST),
                                    ("unknown", Image.Resampling.BICUBIC)):
        expected = np.asarray(Image.fromarray(rgb).resize((4, 4), resample))
        got = preprocess_image(rgb, _config(4, "squash", interpolation))
        np.testing.assert_allclose(got, _normalised(expected), atol=1e-6, err_msg=interpolation)


def test_unknown_resize_mode_is_refused():
    with pytest.raises(EngineError):
        preprocess_image(_ramp(2, 2), _config(2, "stretch"))


def test_normalisation_is_float32_arithmetic_as_torchvision_does_it():
    """ToTensor divides by 255 in float32 and Normalize subtracts/divides float32 tensors: the
    pixels equal that arithmetic bit for bit (float64 arithmetic rounds differently)."""
    rgb = np.arange(256 * 3, dtype=np.int64).reshape(16, 16, 3).astype(np.uint8)
    config = ImagePreprocess(16, (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711),
                             "squash", "nearest")
    x = rgb.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    expected = (x - np.float32(config.mean)[:, None, None]) / np.float32(config.std)[:, None, None]
    np.testing.assert_array_equal(preprocess_image(rgb, config)[0], expected)


def test_center_crop_pads_an_odd_shortfall_on_one_side_only():
    thin = _ramp(1, 6)  # height 1 < 4: canvas row 1 of 4 ((4 − 1) // 2), then the centre 4 columns
    canvas = np.zeros((4, 6, 3), np.uint8)
    canvas[1] = thin[0]
    np.testing.assert_array_equal(np.asarray(_center_crop(Image.fromarray(thin), 4)), canvas[:, 1:5])
