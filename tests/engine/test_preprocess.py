"""The engine's pixels equal the encoders' own preprocessing (open_clip, perceptual)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip)
from engine import EngineError
from engine.manifest import ImagePreprocess
from engine.preprocess import preprocess_image
from export.encoders import example_image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SHAPES = [(240, 320), (320, 240), (17, 23), (224, 224), (1000, 50), (225, 224)]


def _open_clip_pixels(image: np.ndarray, size: int) -> np.ndarray:
    from open_clip.transform import PreprocessCfg, image_transform_v2

    transform = image_transform_v2(PreprocessCfg(size=(size, size), mean=CLIP_MEAN,
                                                 std=CLIP_STD), is_train=False)
    return transform(Image.fromarray(image)).unsqueeze(0).numpy()


@pytest.mark.parametrize("size", [32, 224])
@pytest.mark.parametrize("shape", SHAPES)
def test_clip_preprocessing_matches_open_clip(shape, size):
    image = example_image(seed=sum(shape), height=shape[0], width=shape[1])
    config = ImagePreprocess(size=size, mean=CLIP_MEAN, std=CLIP_STD)
    ours = preprocess_image(image, config)
    assert ours.shape == (1, 3, size, size) and ours.dtype == np.float32
    assert np.abs(ours - _open_clip_pixels(image, size)).max() < 1e-5


def test_area_squash_matches_the_perceptual_encoder():
    from training.encoders.perceptual import IMAGE_SIZE, preprocess

    image = example_image(seed=2, height=300, width=410)
    config = ImagePreprocess(size=IMAGE_SIZE, mean=(0.0,) * 3, std=(1.0,) * 3,
                             resize_mode="area-squash")
    np.testing.assert_array_equal(preprocess_image(image, config)[0], preprocess(image))


def test_grey_and_rgba_frames_are_accepted_and_wrong_types_explained():
    config = ImagePreprocess(size=32, mean=CLIP_MEAN, std=CLIP_STD)
    grey = np.full((40, 50), 100, np.uint8)
    rgba = np.dstack([np.full((40, 50, 3), 100, np.uint8), np.zeros((40, 50), np.uint8)])
    np.testing.assert_array_equal(preprocess_image(grey, config), preprocess_image(rgba, config))
    with pytest.raises(EngineError, match="uint8"):
        preprocess_image(grey.astype(np.float64), config)
    with pytest.raises(EngineError, match="H×W×3"):
        preprocess_image(np.zeros((2, 3, 4, 5), np.uint8), config)
    with pytest.raises(EngineError, match="not supported"):
        preprocess_image(grey, ImagePreprocess(32, CLIP_MEAN, CLIP_STD, resize_mode="longest"))
