"""The composite text prompt of Sec. III.A.3, shared by the dataset builder and the engine."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

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


def build_prompt_within(
    count_tokens: Callable[[str], int],
    max_tokens: int,
    commentary: str,
    painting_emotion: Sequence[str],
    audio_labels: Sequence[str],
    audio_keywords: Sequence[str],
) -> str:
    """`build_prompt`, with the commentary cut BY TOKENS so that the whole prompt fits a text
    encoder's context of `max_tokens` (``count_tokens`` counts the encoder's tokens of a text,
    special tokens included). The Painting Emotion and Audio parts come after the commentary,
    so a text encoder that cuts at its context would drop them first; here they always stay,
    and the commentary keeps as many of its first characters as fit (cut at a space when one
    lies in the second half of what fits, as `clean_text` does). Only when even an empty
    commentary does not fit is the prompt returned as `build_prompt` makes it.
    """
    def build(text: str) -> str:
        return build_prompt(text, painting_emotion, audio_labels, audio_keywords)

    def fits(text: str) -> bool:
        return count_tokens(build(text)) <= max_tokens

    text = clean_text(commentary)
    if fits(text) or not fits(""):
        return build(text)
    fit, over = 0, len(text)  # text[:fit] fits, text[:over] does not
    while over - fit > 1:
        middle = (fit + over) // 2
        if fits(text[:middle]):
            fit = middle
        else:
            over = middle
    cut = text[:fit].rstrip()
    space = cut.rfind(" ")
    if space > len(cut) // 2 and fits(cut[:space]):
        cut = cut[:space]
    return build(cut.rstrip(" ,;:"))
