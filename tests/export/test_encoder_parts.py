"""Known answers for what the bundle takes from an encoder (export/encoders.py and
export/clip_tokenizer.py); tokens are checked against open_clip's own SimpleTokenizer."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from torch import nn

import export.encoders as encoders
from engine.manifest import ImagePreprocess, TokenizerSpec
from engine.preprocess import preprocess_image
from export.clip_tokenizer import clip_tokenizer_json, clip_tokenizer_spec
from export.errors import ExportError

open_clip = importlib.import_module("open_clip")  # after export.encoders (torchvision ops first)
CLIP = open_clip.tokenizer.SimpleTokenizer()


def _clip_cfg(**cfg):
    return SimpleNamespace(model=SimpleNamespace(visual=SimpleNamespace(preprocess_cfg=cfg)))


def test_open_clip_preprocess_cfg() -> None:
    got = encoders.image_preprocess(_clip_cfg(size=(224, 224), mean=[0.5, 0.4, 0.3], std=(1, 2, 3),
                                              resize_mode="squash", interpolation="bilinear"))
    assert got == ImagePreprocess(224, (0.5, 0.4, 0.3), (1.0, 2.0, 3.0), "squash", "bilinear")


def test_open_clip_preprocess_defaults() -> None:
    got = encoders.image_preprocess(_clip_cfg(size=160, mean=(0, 0, 0), std=(1, 1, 1)))
    assert got == ImagePreprocess(160, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "shortest", "bicubic")


class _Perceptual:
    image_size, mean, std = 96, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6)


def test_attribute_preprocess() -> None:
    enc = _Perceptual()
    assert encoders.image_preprocess(enc) == ImagePreprocess(96, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6),
                                                             "shortest", "bicubic")
    enc.resize_mode, enc.interpolation = "area-squash", "area"
    assert encoders.image_preprocess(enc) == ImagePreprocess(96, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6),
                                                             "area-squash", "area")


def test_an_empty_preprocess_cfg_falls_back_to_attributes() -> None:
    enc = _Perceptual()
    enc.model = SimpleNamespace(visual=SimpleNamespace(preprocess_cfg={}))
    assert encoders.image_preprocess(enc).size == 96


@pytest.mark.parametrize("encoder", [SimpleNamespace(), SimpleNamespace(image_size=8),
                                     SimpleNamespace(mean=(0, 0, 0), std=(1, 1, 1))])
def test_no_preprocessing_is_an_error(encoder) -> None:
    with pytest.raises(ExportError):
        encoders.image_preprocess(encoder)


def test_an_unknown_resize_mode_is_an_error() -> None:
    with pytest.raises(ExportError):
        encoders.image_preprocess(_clip_cfg(size=8, mean=(0, 0, 0), std=(1, 1, 1), resize_mode="fit"))


def _example(seed: int, height: int, width: int) -> np.ndarray:
    """The docstring's picture: three sine gradients in [0, 255] plus N(0, 8) noise, clipped."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    planes = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 3), rng.uniform(0.5, 3), rng.uniform(0, 6)
        planes.append(np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    image = (np.stack(planes, -1) * 0.5 + 0.5) * 255
    return np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def test_example_image() -> None:
    image = encoders.example_image()
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, _example(0, 240, 320))
    np.testing.assert_array_equal(encoders.example_image(5, 30, 20), _example(5, 30, 20))


def test_image_graph_feeds_the_engine_preprocessing() -> None:
    module = nn.Identity()
    enc = SimpleNamespace(image_module=lambda: module)
    preprocess = ImagePreprocess(32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), "squash")
    source = encoders.image_graph(enc, preprocess)
    assert source.name == "image_encoder" and source.module is module
    assert source.output_names == ("image_embedding",)
    np.testing.assert_array_equal(source.inputs[0].numpy(),
                                  preprocess_image(_example(0, 240, 320), preprocess))
    enc.image_output_names = ["image_embedding", "class_probabilities"]
    assert encoders.image_graph(enc, preprocess).output_names == ("image_embedding", "class_probabilities")


class _ClipText:
    def __init__(self, context=None) -> None:
        self.tokenizer = CLIP
        if context is not None:
            self.context_length = context
        self.module = nn.Identity()

    def text_module(self):
        return self.module


def test_clip_text_graph_tokens_match_open_clip(tmp_path) -> None:
    enc = _ClipText()
    text = encoders.text_graph(enc, "text_encoder", "tok.json", tmp_path)
    assert text.tokenizer == TokenizerSpec("clip_bpe", "tok.json", 77, 49406, 49407, 0)
    assert (tmp_path / "tok.json").read_text(encoding="utf-8") == text.tokenizer_json
    source = text.source
    assert (source.name, source.input_names, source.output_names, source.dynamic_axes) == \
        ("text_encoder", ("tokens",), ("text_embedding",), {})
    assert source.module is enc.module
    expected = CLIP(encoders.SAMPLE_PROMPT, context_length=77).numpy()
    np.testing.assert_array_equal(source.inputs[0].numpy(), expected)
    assert source.inputs[0].dtype == torch.int64


def test_clip_text_graph_uses_the_encoder_context(tmp_path) -> None:
    text = encoders.text_graph(_ClipText(context=16), "g", "t.json", tmp_path)
    assert text.tokenizer.context_length == 16
    np.testing.assert_array_equal(text.source.inputs[0].numpy(),
                                  CLIP(encoders.SAMPLE_PROMPT, context_length=16).numpy())


def test_sample_prompt_is_the_prompt_format() -> None:
    assert encoders.SAMPLE_PROMPT == (
        "Art Commentary: the sea at dusk feels calm and a little lonely. Painting Emotion: "
        "contentment, sadness. Audio: Music, Ambient music. Audio keywords: slow piano, soft strings.")


@pytest.mark.parametrize("text", ["Hello   WORLD!", "café au lait's 42 ☕", "tab\tand\nnewline",
                                  "it's, they're; we'll"])
def test_clip_tokenizer_json_matches_simple_tokenizer(text) -> None:
    tokenizer = Tokenizer.from_str(clip_tokenizer_json(CLIP))
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    assert ids == CLIP.encode(text)


def test_clip_tokenizer_json_decodes_bytes() -> None:
    tokenizer = Tokenizer.from_str(clip_tokenizer_json(CLIP))
    ids = CLIP.encode("café")
    assert "é" in tokenizer.decode(ids)
    assert CLIP.decode(ids).strip() == "café"


def test_clip_tokenizer_spec() -> None:
    spec = clip_tokenizer_spec(SimpleNamespace(sot_token_id="7", eot_token_id=8.0), "f.json", "12")
    assert spec == TokenizerSpec(kind="clip_bpe", file="f.json", context_length=12, sot_id=7,
                                 eot_id=8, pad_id=0)
    assert isinstance(spec.sot_id, int) and isinstance(spec.eot_id, int)
    assert isinstance(spec.context_length, int)


def _hf_backend() -> Tokenizer:
    vocab = {"[PAD]": 0, "[UNK]": 1, "art": 2, "a": 3, "short": 4, "one": 5}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


class _HFText:
    def __init__(self, pad=None) -> None:
        self.tokenizer = SimpleNamespace(backend_tokenizer=_hf_backend(), pad_token_id=pad)
        self.max_length = 8
        self.module = nn.Identity()

    def text_module(self):
        return self.module


def test_hf_text_graph(tmp_path) -> None:
    enc = _HFText()
    text = encoders.text_graph(enc, "caption_encoder", "cap.json", tmp_path)
    assert text.tokenizer == TokenizerSpec(kind="hf", file="cap.json", context_length=8, pad_id=0)
    assert text.tokenizer_json == _hf_backend().to_str()
    assert (tmp_path / "cap.json").read_text(encoding="utf-8") == text.tokenizer_json
    source = text.source
    assert source.input_names == ("input_ids", "attention_mask")
    assert source.output_names == ("text_embedding",)
    assert source.dynamic_axes == {"input_ids": {0: "batch", 1: "length"},
                                   "attention_mask": {0: "batch", 1: "length"},
                                   "text_embedding": {0: "batch"}}
    ids, mask = (t.numpy() for t in source.inputs)
    # Two texts, cut to 8 tokens: the sample prompt (all unknown but "a"), "a short one" padded.
    assert ids.shape == (2, 8)
    assert ids[1].tolist() == [3, 4, 5, 0, 0, 0, 0, 0]
    assert mask.tolist() == [[1] * 8, [1, 1, 1, 0, 0, 0, 0, 0]]
    assert source.module is enc.module


def test_hf_pad_id(tmp_path) -> None:
    text = encoders.text_graph(_HFText(pad=5), "g", "t.json", tmp_path)
    assert text.tokenizer.pad_id == 5
    assert text.source.inputs[0].numpy()[1].tolist() == [3, 4, 5, 5, 5, 5, 5, 5]


@pytest.mark.parametrize("encoder", [SimpleNamespace(tokenizer=None),
                                     SimpleNamespace(tokenizer=SimpleNamespace(backend_tokenizer=1)),
                                     SimpleNamespace(tokenizer=SimpleNamespace(bpe_ranks={}))])
def test_an_unknown_tokenizer_is_an_error(tmp_path, encoder) -> None:
    with pytest.raises(ExportError):
        encoders.text_graph(encoder, "g", "t.json", tmp_path)


def test_register_open_clip_configs(tmp_path, monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(open_clip, "add_model_config", seen.append)
    encoders.register_open_clip_configs([tmp_path / "a", tmp_path / "b"])
    assert seen == [tmp_path / "a", tmp_path / "b"]
