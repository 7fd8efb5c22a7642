"""A visitor's typed comment → the text the engine gets, a hint for the screen, and what the
kiosk log may show of it (the comment stays off disk unless the config's ``log_comments``)."""

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


_PROMPT_START = "Art Commentary: "
_PROMPT_AFTER_COMMENTARY = ". Painting Emotion: "
"""The parts of core.prompt.build_prompt around the Art Commentary, where the comment goes."""


def redact_prompt(prompt: str, comment: str, commentary: str = "") -> str:
    """``prompt`` as the kiosk log shows it when comments are not logged: the visitor's words
    replaced by "<visitor comment, N chars>", the painting's own ``commentary`` (the engine's
    reading) and the rest of the prompt kept.

    The comment is in the prompt's Art Commentary, joined with the commentary ("<comment>.
    <commentary>", engine.reading.art_commentary) or in its place. Anything there that is not
    exactly the commentary after exactly the comment is redacted whole, so a shortened or odd
    prompt never leaks part of the comment.
    """
    comment = clean_text(comment)
    if not comment:
        return prompt
    mark = f"<visitor comment, {len(comment)} chars>"
    end = prompt.rfind(_PROMPT_AFTER_COMMENTARY)  # the comment may contain it, the rest cannot
    if not prompt.startswith(_PROMPT_START) or end < len(_PROMPT_START):
        return f"{mark} (a prompt of {len(prompt)} chars)"
    section = prompt[len(_PROMPT_START):end]
    own = clean_text(commentary).rstrip(".")
    head = section[:len(section) - len(own)]
    kept = own and section.endswith(own) and head in (f"{comment} ", f"{comment}. ")
    return f"{_PROMPT_START}{mark}{'. ' + own if kept else ''}{prompt[end:]}"


def loggable_prompt(prompt: str, comment: str, commentary: str = "",
                    log_comments: bool = False) -> str:
    """The prompt for the kiosk log: as composed when ``log_comments``, else redacted."""
    return prompt if log_comments else redact_prompt(prompt, comment, commentary)
