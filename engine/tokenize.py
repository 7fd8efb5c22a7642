"""Text → graph inputs with the `tokenizers` library (no torch, no transformers, no open_clip)."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from tokenizers import Tokenizer

from core.prompt import build_prompt_within, clean_text
from engine.errors import EngineError
from engine.inputs import check_text
from engine.manifest import TokenizerSpec

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_WIDTH_AND_LIGATURES = re.compile(
    "[\u0132\u0133\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06\u3000\uff01-\uffee]+")
"""Latin ligatures and full/half-width forms, which ftfy rewrites with NFKC."""

logger = logging.getLogger(__name__)


def clip_clean(text: str) -> str:
    """open_clip's ``basic_clean`` + ``whitespace_clean`` without ftfy's mojibake repair.

    As ftfy does: HTML entities unescaped twice, curly quotes straightened, ligatures and
    full/half-width characters NFKC-normalised; NFC and lower-casing happen in the tokenizer's
    normaliser. Only broken encodings (mojibake) are left as they are.
    """
    text = html.unescape(html.unescape(text)).translate(_QUOTES)
    text = _WIDTH_AND_LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return re.sub(r"\s+", " ", text).strip()


class TextTokenizer(Protocol):
    spec: TokenizerSpec

    def feeds(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Graph inputs for a batch of texts."""

    def count(self, text: str) -> int:
        """Tokens of `text` with the special tokens, before any cut to the context length."""


class ClipTokenizer:
    """open_clip's SimpleTokenizer: [sot] + BPE ids + [eot], cut to the context, zero padded."""

    def __init__(self, path: Path, spec: TokenizerSpec) -> None:
        if spec.sot_id is None or spec.eot_id is None:
            raise EngineError(f"tokenizer {spec.file} lacks sot_id/eot_id; re-export the bundle.")
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.spec = spec

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(clip_clean(check_text(text, "text")),
                                          add_special_tokens=False).ids) + 2

    def ids(self, text: str) -> list[int]:
        """Token ids of one text with start/end tokens, at most ``context_length`` long."""
        body = self._tokenizer.encode(clip_clean(check_text(text, "text")),
                                      add_special_tokens=False).ids
        tokens = [self.spec.sot_id, *body, self.spec.eot_id]
        if len(tokens) > self.spec.context_length:
            tokens = tokens[: self.spec.context_length]
            tokens[-1] = self.spec.eot_id
        return tokens

    def feeds(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        batch = np.full((len(texts), self.spec.context_length), self.spec.pad_id, dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = self.ids(text)
            batch[row, : len(tokens)] = tokens
        return {"tokens": batch}


class HFTokenizer:
    """A Hugging Face `tokenizers` JSON whose post-processor adds the special tokens (MiniLM's
    BERT WordPiece adds [CLS]/[SEP]): ids + attention mask, padded to the longest text."""

    def __init__(self, path: Path, spec: TokenizerSpec) -> None:
        self._tokenizer = Tokenizer.from_file(str(path))
        self._counter = Tokenizer.from_file(str(path))  # the same, never truncated
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer.enable_truncation(spec.context_length)
        self._tokenizer.enable_padding(pad_id=spec.pad_id)
        self.spec = spec

    def count(self, text: str) -> int:
        return len(self._counter.encode(check_text(text, "text") or " ").ids)

    def feeds(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = self._tokenizer.encode_batch([check_text(text, "text") or " "
                                                  for text in texts])
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }


_KINDS = {"clip_bpe": ClipTokenizer, "hf": HFTokenizer}


def fit_prompt(tokenizer: TextTokenizer, commentary: str, feelings: Sequence[str],
               audio_labels: Sequence[str], keywords: Sequence[str]) -> str:
    """The composite prompt (core.prompt.build_prompt) within the tokenizer's context: a long
    commentary (a visitor's 600-character comment in Japanese is ~600 tokens for MiniLM) is cut
    by tokens, so the Painting Emotion and Audio parts are always encoded. The cut is logged
    with lengths only (the comment itself stays out of the log)."""
    limit = tokenizer.spec.context_length
    prompt = build_prompt_within(tokenizer.count, limit, commentary, feelings, audio_labels,
                                 keywords)
    full = len(clean_text(commentary).rstrip("."))
    kept = len(prompt.partition("Art Commentary: ")[2].partition(". Painting Emotion:")[0])
    if kept < full:
        logger.info("art commentary cut to %d of %d characters so that the feelings and audio "
                    "parts fit the text encoder's %d tokens", kept, full, limit)
    return prompt


def load_tokenizer(path: Path, spec: TokenizerSpec) -> TextTokenizer:
    """The tokenizer a bundle's TokenizerSpec names."""
    try:
        kind = _KINDS[spec.kind]
    except KeyError:
        raise EngineError(f"tokenizer kind {spec.kind!r} is unknown to this engine; re-export the "
                          f"bundle (known: {', '.join(_KINDS)}).") from None
    return kind(path, spec)
