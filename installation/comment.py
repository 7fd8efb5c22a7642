"""A visitor's typed comment → the text the engine gets, plus a hint for the screen."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from core.prompt import MAX_COMMENT_CHARS, clean_text

HINT_EMPTY = "Type a few words, or just tap a feeling."
HINT_READY = "Tap “Compose” to hear your words."
HINT_SHORTENED = f"Your words were shortened to the first {MAX_COMMENT_CHARS} characters."
HINT_CONTROL = "Some invisible characters were removed."


_UNREMARKABLE = "\t\n\r\u200d"
"""Removed too, but not worth a hint: line breaks, and the joiner inside emoji sequences."""


@dataclass(frozen=True)
class CleanComment:
    text: str
    """What goes into the prompt (core.prompt.clean_text)."""
    hint: str
    """One sentence for the visitor."""
    shortened: bool = False
    removed_control: bool = False


def clean_comment(raw: str | None) -> CleanComment:
    raw = raw or ""
    text = clean_text(raw)
    removed_control = any(unicodedata.category(ch)[0] == "C" and ch not in _UNREMARKABLE
                          for ch in raw)
    collapsed = clean_text(raw, max_chars=len(raw) + 1)
    shortened = len(collapsed) > len(text)
    if not text:
        hint = HINT_EMPTY
    elif shortened:
        hint = HINT_SHORTENED
    elif removed_control:
        hint = HINT_CONTROL
    else:
        hint = HINT_READY
    return CleanComment(text, hint, shortened, removed_control)
