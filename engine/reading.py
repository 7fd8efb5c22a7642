"""The kiosk's reading of a painting, and the one set of rules that turns it into a prompt.

Every caller that composes music (the kiosk, ``Engine.compose``, ``export.examples``, the
kiosk-path report of ``main.py eval``) goes through these rules, so they all hear the same
thing for the same painting and comment:

* **feelings**: the visitor's chosen chips, else the top ``PROMPT_FEELINGS`` predicted ones
  (one, as in training, where each prompt leads with the comment's single ArtEmis label);
* **Art Commentary**: the visitor's comment joined with the painting's commentary
  (``COMMENT_POLICY`` ``join``: "<comment>. <commentary>"), or replaced by it (``replace``);
  with no comment, the commentary alone;
* **loudness**: every piece is brought to ``DEFAULT_TARGET_DBFS`` from its Mel
  (core/loudness.py) before it plays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.prompt import clean_text
from engine.commentary import Commentary
from engine.inputs import check_feelings, check_text

PROMPT_FEELINGS = 1
"""Predicted feelings put in the prompt when the visitor chose none (and pre-selected chips)."""

COMMENT_POLICIES = ("join", "replace")
COMMENT_POLICY = "join"
"""What a visitor's comment does to the painting's commentary: ``join`` keeps both (the
painting keeps a voice), ``replace`` lets the visitor's words stand alone."""


@dataclass(frozen=True)
class Reading:
    """What the engine sees in a painting: embedding, ranked feelings, commentary."""

    image_embedding: np.ndarray
    feelings: tuple[tuple[str, float], ...] = ()
    """Every ArtEmis emotion with its probability, most likely first (empty without a head)."""
    commentary: Commentary = field(default_factory=Commentary)

    @property
    def text(self) -> str:
        """The commentary sentence ("" when the bundle cannot read paintings)."""
        return self.commentary.text

    def top_feelings(self, k: int = PROMPT_FEELINGS) -> tuple[str, ...]:
        return tuple(label for label, _ in self.feelings[: max(0, k)])


def prompt_feelings(predicted: Sequence[tuple[str, float]] | Sequence[str],
                    chosen: Sequence[str] | None = None) -> tuple[str, ...]:
    """The feelings a prompt carries: the visitor's `chosen` ones when given (even an empty
    choice means "none"), else the top ``PROMPT_FEELINGS`` of `predicted`."""
    check_feelings(chosen)
    if chosen is not None:
        return tuple(str(f) for f in chosen)
    labels = [f[0] if isinstance(f, tuple) else str(f) for f in predicted]
    return tuple(labels[:PROMPT_FEELINGS])


def art_commentary(comment: str, commentary: str, policy: str = COMMENT_POLICY) -> str:
    """The prompt's "Art Commentary": the visitor's comment and/or the painting's commentary."""
    if policy not in COMMENT_POLICIES:
        raise ValueError(f"comment policy {policy!r} is unknown; use one of "
                         f"{', '.join(COMMENT_POLICIES)}.")
    check_text(comment, "comment")
    comment, commentary = clean_text(comment), clean_text(commentary)
    if not comment:
        return commentary
    if policy == "replace" or not commentary:
        return comment
    joiner = " " if comment[-1] in ".!?…" else ". "
    return f"{comment}{joiner}{commentary}"
