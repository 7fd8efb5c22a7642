"""The shared vocabulary of music captions: thresholds, keywords, feeling words and labels.

Recorded clips get these words from measured features, procedural clips from their known
parameters; both use the same thresholds so a word means the same thing in every row.
"""

from __future__ import annotations

from dataclasses import dataclass

FEELINGS: tuple[str, ...] = ("happy", "sad", "calm", "tense", "energetic", "eerie")
"""The six feeling classes the music corpora are balanced over."""

FEELING_WORDS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "cheerful"),
    "sad": ("melancholic", "sad"),
    "calm": ("calm", "peaceful"),
    "tense": ("tense", "suspenseful"),
    "energetic": ("energetic", "exciting"),
    "eerie": ("eerie", "mysterious"),
}

MOOD_LABELS: dict[str, tuple[str, ...]] = {
    "happy": ("Happy music",),
    "sad": ("Sad music",),
    "calm": ("Tender music",),
    "tense": ("Exciting music",),
    "energetic": ("Exciting music",),
    "eerie": ("Scary music",),
}
"""AudioSet mood classes (ontology names) that honestly fit each feeling class."""


@dataclass(frozen=True)
class Thresholds:
    """Where a measured (or constructed) value earns a word."""

    slow_bpm: float = 85.0
    fast_bpm: float = 125.0
    clear_pulse: float = 0.5
    no_pulse: float = 0.2
    quiet_db: float = -24.0
    loud_db: float = -15.0
    dark_hz: float = 1000.0
    bright_hz: float = 2000.0
    sparse_onsets: float = 1.0
    dense_onsets: float = 4.5
    key_strength: float = 0.6
    mode_margin: float = 0.05


THRESHOLDS = Thresholds()


def tempo_word(bpm: float, t: Thresholds = THRESHOLDS) -> str:
    return "slow" if bpm < t.slow_bpm else "fast" if bpm >= t.fast_bpm else "moderate tempo"


def loudness_word(rms_db: float, t: Thresholds = THRESHOLDS) -> str | None:
    return "quiet" if rms_db < t.quiet_db else "loud" if rms_db > t.loud_db else None


def brightness_word(centroid_hz: float, t: Thresholds = THRESHOLDS) -> str | None:
    return "dark" if centroid_hz < t.dark_hz else "bright" if centroid_hz > t.bright_hz else None


def density_word(onsets_per_second: float, t: Thresholds = THRESHOLDS) -> str | None:
    if onsets_per_second < t.sparse_onsets:
        return "sparse"
    return "dense" if onsets_per_second > t.dense_onsets else None


def join_words(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def article(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def unique(items: list[str]) -> list[str]:
    """Items without repeats, first occurrence kept."""
    return list(dict.fromkeys(i for i in items if i))
