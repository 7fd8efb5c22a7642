"""The offline default image encoder measures what its feature names say."""

import io

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch

from training.encoders import EncoderSpec, create_encoder
from training.encoders.perceptual import FEATURE_NAMES, PerceptualFeatures


@pytest.fixture(scope="module")
def encoder():
    return create_encoder(EncoderSpec("perceptual", "v1"))


def feature(values: np.ndarray, name: str) -> np.ndarray:
    return values[:, FEATURE_NAMES.index(name)]


def solid(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((120, 160, 3), rgb, np.uint8)


def test_shape_and_range(encoder):
    images = [np.random.default_rng(i).integers(0, 255, (90, 130, 3), dtype=np.uint8) for i in range(3)]
    values = encoder.encode_images(images)
    assert values.shape == (3, len(FEATURE_NAMES)) == (3, encoder.image_dim)
    assert values.min() >= -1.0 and values.max() <= 1.0


def test_warm_palette_is_warmer_than_cool(encoder):
    values = encoder.encode_images([solid((220, 120, 40)), solid((40, 90, 200))])
    warmth = feature(values, "warmth")
    assert warmth[0] > 0.5 > -0.5 > warmth[1]
    assert feature(values, "hue_30")[0] > feature(values, "hue_30")[1]


def test_brightness_saturation_and_texture(encoder):
    dark, light, grey = solid((20, 20, 30)), solid((235, 235, 225)), solid((128, 128, 128))
    stripes = grey.copy()
    stripes[:, ::4] = 255
    values = encoder.encode_images([dark, light, grey, stripes])
    assert feature(values, "luminance_mean")[0] < feature(values, "luminance_mean")[1]
    assert feature(values, "saturation_mean")[2] == pytest.approx(-1.0, abs=1e-3)
    assert feature(values, "edge_density")[3] > feature(values, "edge_density")[2] + 0.5
    assert feature(values, "gradient_fine")[3] > feature(values, "gradient_fine")[2]


def test_composition_layout(encoder):
    top_light = np.zeros((200, 200, 3), np.uint8)
    top_light[:100] = 255
    centre = np.zeros((200, 200, 3), np.uint8)
    cv2.circle(centre, (100, 100), 50, (255, 255, 255), -1)
    values = encoder.encode_images([top_light, centre])
    assert feature(values, "top_bottom")[0] > 0.9
    assert feature(values, "layout_luminance_0")[0] > feature(values, "layout_luminance_8")[0]
    assert feature(values, "centre_surround")[1] > 0.2
    assert feature(values, "symmetry")[1] > 0.95


def test_onnx_export_matches_torch():
    module = PerceptualFeatures().eval()
    buffer = io.BytesIO()
    torch.onnx.export(module, (torch.rand(1, 3, 224, 224),), buffer, dynamo=False,
                      input_names=["pixels"], output_names=["embedding"], opset_version=17)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    pixels = torch.rand(1, 3, 224, 224)
    exported = session.run(None, {"pixels": pixels.numpy()})[0]
    np.testing.assert_allclose(exported, module(pixels).numpy(), atol=1e-4)


def test_unknown_version_is_rejected():
    with pytest.raises(ValueError, match="perceptual:v1"):
        create_encoder(EncoderSpec("perceptual", "v9"))
