"""A long comment is cut by tokens, so the feelings and audio parts of the prompt always reach the
text encoder (issue 10: 600 characters of Japanese filled MiniLM's 256 tokens and the feeling
chips silently did nothing)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from core.prompt import build_prompt, clean_text
from engine import Engine
from engine.bundle import read_manifest
from engine.tokenize import fit_prompt, load_tokenizer
from tests.engine import handmade_bundle as hb

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "assets" / "bundle"
SENTENCE = ("この絵を見ると、子供の頃に祖母と歩いた夏の夕暮れの海辺を思い出して、"
            "波の音と遠くの船の灯りが胸の奥で静かに揺れて、少し寂しくて温かい気持ちになります。")
JAPANESE = (SENTENCE * 20)[:600]
"""A visitor's 600-character comment in Japanese (the kiosk keeps at most 600 characters)."""


@pytest.fixture(scope="module")
def minilm():
    """The shipped bundle's real text tokenizer (MiniLM WordPiece, 256 tokens)."""
    manifest = read_manifest(DEFAULT_BUNDLE)
    spec = manifest.tokenizers["text_encoder"]
    return load_tokenizer(DEFAULT_BUNDLE / spec.file, spec)


def test_the_long_japanese_comment_overflows_the_encoder_without_the_cut(minilm):
    assert len(JAPANESE) == 600 and minilm.spec.context_length == 256
    whole = build_prompt(JAPANESE, ["sadness"], ["Music", "Piano"], ["calm", "waves"])
    assert minilm.count(whole) > 2 * 256  # one WordPiece token per kanji/kana


def test_the_cut_keeps_feelings_and_audio_and_as_much_comment_as_fits(minilm, caplog):
    with caplog.at_level(logging.INFO, logger="engine.tokenize"):
        prompt = fit_prompt(minilm, JAPANESE, ["sadness"], ["Music", "Piano"], ["calm", "waves"])
    assert prompt.endswith(". Painting Emotion: sadness. Audio: Music, Piano. "
                           "Audio keywords: calm, waves.")
    kept = prompt.removeprefix("Art Commentary: ").partition(". Painting Emotion:")[0]
    assert JAPANESE.startswith(kept) and len(kept) > 180  # all the room there is, not a guess
    assert minilm.count(prompt) <= 256
    longer = build_prompt(JAPANESE[: len(kept) + 1], ["sadness"], ["Music", "Piano"],
                          ["calm", "waves"])
    assert minilm.count(longer) > 256  # one character more would not fit
    ids = minilm.feeds([prompt])["input_ids"][0]
    assert ids[-1] == 0 or ids[-1] == 102  # not truncated: ends in [SEP] or padding
    assert [r.getMessage() for r in caplog.records] == [
        f"art commentary cut to {len(kept)} of 600 characters so that the feelings and audio "
        "parts fit the text encoder's 256 tokens"]  # lengths only: the comment stays private


def test_a_comment_that_fits_is_left_alone(minilm, caplog):
    comment = "Like a slow summer evening by the sea"
    with caplog.at_level(logging.INFO, logger="engine.tokenize"):
        assert fit_prompt(minilm, comment, ["awe"], ["Music"], ["calm"]) == \
            build_prompt(comment, ["awe"], ["Music"], ["calm"])
    assert caplog.records == []


def test_the_feeling_chips_change_the_text_embedding_even_after_a_long_comment():
    """The real text encoder of the shipped bundle: with the cut, another chip gives another
    embedding; the uncut prompts give the same one (the encoder never sees the feelings)."""
    engine = Engine.load(DEFAULT_BUNDLE, providers=["cpu"], warmup=False, verify=False)
    sad, fun = (engine.build_prompt(JAPANESE, [feeling]) for feeling in ("sadness", "amusement"))
    assert "Painting Emotion: sadness. Audio:" in sad and "Painting Emotion: amusement." in fun
    a, b = engine.encode_text(sad), engine.encode_text(fun)
    assert float(a @ b) < 0.999
    audio = sad.partition(" Audio: ")[2]
    uncut = [engine.encode_text(f"Art Commentary: {clean_text(JAPANESE)}. Painting Emotion: "
                                f"{feeling}. Audio: {audio}") for feeling in ("sadness", "amusement")]
    np.testing.assert_array_equal(uncut[0], uncut[1])


def test_the_hand_made_encoder_gets_the_literal_tokens_of_the_cut_prompt(tmp_path):
    """Known answer: 24 tokens hold exactly "sea storm" before the feelings and audio parts."""
    engine = Engine.load(hb.write_bundle(tmp_path / "bundle"), providers=["cpu"], warmup=False)
    prompt = engine.build_prompt("sea storm " * 30, ["awe"])
    assert prompt == ("Art Commentary: sea storm. Painting Emotion: awe. Audio: Rain, Music. "
                      "Audio keywords: waves.")
    ids = (4, 5, 6, 20, 30, 7, 8, 9, 6, 40, 7, 11, 6, 51, 13, 50, 7, 11, 12, 6, 52, 7)
    np.testing.assert_array_equal(engine.encode_text(prompt), [hb.SOT, *ids, hb.EOT])
