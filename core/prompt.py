"""The composite text prompt of Sec. III.A.3, shared by the dataset builder and the engine."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MAX_COMMENT_CHARS = 600
"""Visitor comments and art commentary are cut to this many characters (about 120 words)."""

ARTEMIS_EMOTIONS: tuple[str, ...] = (
    "amusement",
    "awe",
    "contentment",
    "excitement",
    "anger",
    "disgust",
    "fear",
    "sadness",
    "something else",
)
"""The nine emotion categories of ArtEmis (Achlioptas et al., 2021)."""


def clean_text(text: str, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """Normalises free text: NFKC, control characters dropped, whitespace collapsed, length cut.

    Emoji and other printable symbols are kept. Text longer than ``max_chars`` is cut at the
    last space at or before position ``max_chars``, so it ends with a whole word (a word that
    ends exactly at the limit is kept). When that space lies in the first half of the limit
    (Chinese or Japanese without spaces, one huge token such as a pasted URL) the text is cut
    after ``max_chars`` characters instead, possibly inside a word, rather than lose most of it.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > max_chars:
        space = text.rfind(" ", 0, max_chars + 1)  # text[max_chars] == " ": all words fit
        text = (text[:space] if space > max_chars // 2 else text[:max_chars]).rstrip()
    return text


def _join(items: Sequence[str]) -> str:
    return ", ".join(clean_text(item, 80) for item in items if clean_text(item, 80))


def build_prompt(
    commentary: str,
    painting_emotion: Sequence[str],
    audio_labels: Sequence[str],
    audio_keywords: Sequence[str],
) -> str:
    """Composite prompt of Sec. III.A.3::

        Art Commentary: <commentary>. Painting Emotion: <emotions>. Audio: <Audio Set labels>.
        Audio keywords: <caption keywords>.
    """
    commentary = clean_text(commentary).rstrip(".")
    return (
        f"Art Commentary: {commentary}. "
        f"Painting Emotion: {_join(painting_emotion)}. "
        f"Audio: {_join(audio_labels)}. "
        f"Audio keywords: {_join(audio_keywords)}."
    )
