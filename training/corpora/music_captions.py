"""Captions of recorded clips from MEASURED features (and mood words of track titles).

Rules (all in one place, applied identically to every clip):

* keywords: tempo ("slow" / "moderate tempo" / "fast"; with no clear beat the pace is read from
  the onset rate), loudness ("quiet" / "loud"), mode ("major key" / "minor key", only when the
  key profile correlation is strong and major/minor are clearly apart), brightness ("dark" /
  "bright"), density ("sparse" / "dense"), pulse ("steady beat" / "no steady beat");
* feeling: a two-axis reading, arousal from tempo, loudness, density and pulse, valence from mode
  and brightness; e.g. slow + minor + quiet → "melancholic, sad, calm";
* a track title that names a mood (Wesnoth's ``sad``, ``love_theme``, ``defeat``...) adds its
  mood words in a separate sentence ("Its title suggests something mournful.") and, where
  unambiguous, decides the feeling class and mood label: the composer's intent outranks a
  heuristic, while the caption keeps what was measured apart from what the title says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from training.corpora.music_features import MusicFeatures
from training.corpora.music_words import (
    FEELING_WORDS,
    MOOD_LABELS,
    THRESHOLDS,
    Thresholds,
    article,
    brightness_word,
    density_word,
    join_words,
    loudness_word,
    tempo_word,
    unique,
)

TITLE_MOODS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "sad": ("sad", ("sad",)),
    "love": ("calm", ("tender", "romantic")),
    "defeat": ("sad", ("defeated", "sorrowful")),
    "lose": ("sad", ("defeated",)),
    "victory": ("happy", ("triumphant",)),
    "win": ("happy", ("triumphant",)),
    "battle": (None, ("battle", "heroic")),
    "epic": (None, ("epic",)),
    "heroes": (None, ("heroic",)),
    "frantic": ("energetic", ("frantic",)),
    "suspense": ("tense", ("suspenseful",)),
    "shadows": ("eerie", ("shadowy",)),
    "dangerous": ("tense", ("dangerous",)),
    "vengeful": ("tense", ("vengeful",)),
    "revenge": ("tense", ("vengeful",)),
    "siege": ("tense", ("embattled",)),
    "dead": ("sad", ("mournful",)),
    "casualties": ("sad", ("mournful",)),
    "falls": ("sad", ("tragic",)),
    "collapse": ("sad", ("tragic",)),
    "broken": ("sad", ("broken",)),
    "ghosts": ("eerie", ("ghostly",)),
    "wasteland": ("eerie", ("desolate",)),
    "unknown": ("eerie", ("mysterious",)),
    "uncertain": ("tense", ("uneasy",)),
    "threat": ("tense", ("threatening",)),
    "dawn": ("happy", ("hopeful",)),
    "sanctuary": ("calm", ("serene",)),
    "journey": (None, ("adventurous",)),
    "blast": ("energetic", ("explosive",)),
}
"""Title words that carry mood → (feeling class or None, mood words)."""


@dataclass(frozen=True)
class MusicDescription:
    caption: str
    keywords: list[str]
    feeling: str
    feeling_words: list[str]
    labels: list[str]


def title_moods(title: str) -> tuple[str | None, list[str]]:
    """(feeling class or None, mood words) named by a track title such as 'the_king_is_dead'."""
    tokens = re.findall(r"[a-z]+", title.lower())
    feeling, words = None, []
    for token in tokens:
        if token in TITLE_MOODS:
            token_feeling, token_words = TITLE_MOODS[token]
            feeling = feeling or token_feeling
            words.extend(token_words)
    return feeling, unique(words)


def pace_word(f: MusicFeatures, t: Thresholds = THRESHOLDS) -> str:
    """Tempo word; with no clear beat, sparse onsets read as slow and nothing reads as fast."""
    if f.pulse_clarity >= t.clear_pulse:
        return tempo_word(f.tempo_bpm, t)
    return "slow" if f.onset_rate < t.sparse_onsets else "moderate tempo"


def mode_word(f: MusicFeatures, t: Thresholds = THRESHOLDS) -> str | None:
    if f.key_strength >= t.key_strength and f.mode_margin >= t.mode_margin:
        return f"{f.mode} key"
    return None


def feeling_from_features(f: MusicFeatures, t: Thresholds = THRESHOLDS) -> str:
    """One of the six feeling classes from a valence/arousal reading of the measured words."""
    pace, loud, density = pace_word(f, t), loudness_word(f.rms_db, t), density_word(f.onset_rate, t)
    bright, mode = brightness_word(f.centroid_hz, t), mode_word(f, t)
    arousal = {"slow": -1.0, "fast": 1.0}.get(pace, 0.0)
    arousal += {"quiet": -1.0, "loud": 1.0}.get(loud or "", 0.0)
    arousal += {"sparse": -1.0, "dense": 1.0}.get(density or "", 0.0)
    arousal += 0.5 if f.pulse_clarity >= t.clear_pulse else -0.5 if f.pulse_clarity < t.no_pulse else 0
    valence = {"major key": 1.0, "minor key": -1.0}.get(mode or "", 0.0)
    valence += {"bright": 0.5, "dark": -0.5}.get(bright or "", 0.0)
    if arousal >= 1.5:
        return "energetic" if valence >= 0 else "tense"
    if arousal > -1.0:
        if valence >= 1.0:
            return "happy"
        if valence <= -1.0:
            return "tense" if arousal >= 0.5 else "sad"
        if bright == "dark":
            return "eerie"
        if arousal >= 1.0:
            return "energetic"
        return "tense" if loud == "loud" else "calm"
    if valence >= 0.5:
        return "calm"
    if valence <= -0.5 and mode == "minor key":
        return "sad"
    return "eerie" if bright == "dark" or mode is None else "calm"


def describe_recorded(f: MusicFeatures, title: str = "", t: Thresholds = THRESHOLDS,
                      base_labels: tuple[str, ...] = ("Music", "Video game music")) -> MusicDescription:
    """Caption, keywords, feeling and labels of a recorded clip from its measured features."""
    pace, loud = pace_word(f, t), loudness_word(f.rms_db, t)
    mode, bright, density = mode_word(f, t), brightness_word(f.centroid_hz, t), density_word(
        f.onset_rate, t)
    pulse = ("steady beat" if f.pulse_clarity >= t.clear_pulse
             else "no steady beat" if f.pulse_clarity < t.no_pulse else None)
    title_feeling, title_words = title_moods(title)
    measured_feeling = feeling_from_features(f, t)
    feeling = title_feeling or measured_feeling
    sound_words = list(FEELING_WORDS[measured_feeling])
    if measured_feeling == "sad" and loud == "quiet":
        sound_words.append("calm")

    head = unique([pace, loud or ""])
    key_text = f" in {f.key} {f.mode}" if mode else ""
    head = [h.replace("moderate tempo", "moderate-tempo") for h in head]
    parts = [f"{article(head[0])} {', '.join(head)} instrumental piece{key_text}"]
    if pulse == "steady beat" and pace != "moderate tempo":
        parts[0] += f" at about {round(f.tempo_bpm)} BPM"
    details = []
    if bright:
        details.append(f"a {bright} timbre")
    if density == "sparse":
        details.append("sparse, sustained notes")
    elif density == "dense":
        details.append("busy, dense notes")
    if pulse == "no steady beat":
        details.append("no steady beat")
    if details:
        parts.append("with " + join_words(details))
    caption = " ".join(parts) + f"; it sounds {join_words(sound_words)}."
    if title_words:
        caption += f" Its title suggests something {join_words(title_words)}."
    keywords = unique([pace, loud or "", mode or "", bright or "", density or "", pulse or "",
                       *sound_words, *title_words])
    labels = unique([*base_labels, *MOOD_LABELS[feeling]])
    return MusicDescription(caption, keywords, feeling, unique([*sound_words, *title_words]),
                            labels)
