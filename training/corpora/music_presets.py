"""Feeling presets for procedural music and the captions that are true by construction.

Each of the six feeling classes draws its parameters from ranges that music psychology ties to
that feeling (Gabrielsson & Lindström's cues: mode, tempo, loudness, register, articulation and
timbre); the caption states the drawn values, so it describes the piece exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.corpora.composer import CompositionParams
from training.corpora.instruments import DRUM_KIT, instrument
from training.corpora.music_features import PITCH_NAMES
from training.corpora.music_words import (
    FEELING_WORDS,
    MOOD_LABELS,
    article,
    density_word,
    join_words,
    tempo_word,
    unique,
)

DYNAMIC_WORDS = {"pp": "very quiet", "p": "quiet", "mp": "soft", "mf": "moderately loud",
                 "f": "loud", "ff": "very loud"}
LOUDNESS_KEYWORDS = {"pp": "quiet", "p": "quiet", "mp": "soft", "f": "loud", "ff": "loud"}
MODE_TEXT = {"major": "major", "minor": "minor", "harmonic_minor": "harmonic minor",
             "whole_tone": "whole-tone scale"}
MODE_KEYWORDS = {"major": ("major key",), "minor": ("minor key",),
                 "harmonic_minor": ("minor key", "harmonic minor"),
                 "whole_tone": ("whole-tone scale", "no clear key")}
ACCOMPANIMENT_TEXT = {"sustained": "over sustained chords", "arpeggio": "over arpeggiated chords",
                      "pulse": "over a driving ostinato", "drone": "over a low drone", "none": ""}


@dataclass(frozen=True)
class FeelingPreset:
    """Parameter ranges of one feeling class (choices are drawn uniformly)."""

    feeling: str
    modes: tuple[str, ...]
    tempo: tuple[float, float]
    dynamics: tuple[str, ...]
    registers: tuple[str, ...]
    density: tuple[float, float]
    leads: tuple[int, ...]
    accompaniments: tuple[tuple[str, int | None], ...]
    basses: tuple[int | None, ...] = (None,)
    drums: float = 0.0
    crescendo: float = 0.0


PRESETS: dict[str, FeelingPreset] = {p.feeling: p for p in (
    FeelingPreset("happy", ("major",), (104, 140), ("mf", "f"), ("mid", "high"), (1.0, 2.0),
                  (0, 12, 73, 24, 40, 71, 56, 11),
                  (("arpeggio", None), ("pulse", 45), ("arpeggio", 24), ("sustained", 48)),
                  (None, 32, 33), drums=0.3),
    FeelingPreset("sad", ("minor", "minor", "harmonic_minor"), (48, 72), ("pp", "p", "mp"),
                  ("low", "mid"), (0.5, 1.0), (0, 42, 40, 68, 48),
                  (("sustained", 48), ("arpeggio", 0), ("sustained", None), ("arpeggio", 46))),
    FeelingPreset("calm", ("major",), (56, 82), ("pp", "p", "mp"), ("mid", "high"), (0.5, 1.0),
                  (46, 0, 73, 24, 11, 89),
                  (("sustained", 89), ("arpeggio", 46), ("sustained", 48), ("arpeggio", 24))),
    FeelingPreset("tense", ("harmonic_minor", "minor"), (92, 132), ("mf", "f"), ("low", "mid"),
                  (1.5, 3.0), (44, 48, 42, 57, 60, 68),
                  (("pulse", 48), ("pulse", 43), ("pulse", 47), ("pulse", 44)),
                  (None, 43), crescendo=0.6),
    FeelingPreset("energetic", ("major", "major", "minor"), (132, 172), ("f", "ff"),
                  ("mid", "high"), (1.5, 3.0), (29, 81, 80, 61, 56, 4),
                  (("pulse", 29), ("pulse", 81), ("pulse", 61), ("arpeggio", 4)),
                  (33,), drums=0.85),
    FeelingPreset("eerie", ("whole_tone", "whole_tone", "minor"), (48, 76), ("pp", "p"),
                  ("high",), (0.25, 0.75), (8, 9, 11, 94, 52),
                  (("drone", 94), ("drone", 52), ("drone", 48), ("drone", 89))),
)}


def sample_params(feeling: str, rng: np.random.Generator, seconds: float,
                  seed: int) -> CompositionParams:
    """Draws one piece's parameters from the preset of `feeling`."""
    p = PRESETS[feeling]

    def pick(options):
        return options[int(rng.integers(len(options)))]

    style, accompaniment_program = pick(p.accompaniments)
    return CompositionParams(
        tempo_bpm=float(round(rng.uniform(*p.tempo))),
        root=int(rng.integers(12)),
        mode=pick(p.modes),
        program=pick(p.leads),
        dynamics=pick(p.dynamics),
        register=pick(p.registers),
        density=float(round(rng.uniform(*p.density), 2)),
        accompaniment=style,
        accompaniment_program=accompaniment_program,
        bass_program=pick(p.basses),
        drums=bool(rng.random() < p.drums),
        crescendo=bool(rng.random() < p.crescendo),
        seconds=seconds,
        seed=seed,
    )


def ensemble(params: CompositionParams) -> tuple[str, list]:
    """Caption phrase for the instruments ('solo piano', 'cello with string ensemble') + list."""
    lead = instrument(params.program)
    parts = [lead]
    if params.accompaniment_program not in (None, params.program) and \
            params.accompaniment != "none":
        parts.append(instrument(params.accompaniment_program))
    if params.bass_program is not None:
        parts.append(instrument(params.bass_program))
    names = [p.name for p in parts] + (["drums"] if params.drums else [])
    if len(names) == 1:
        return f"solo {lead.name}", parts
    return f"{names[0]} with {join_words(names[1:])}", parts + ([DRUM_KIT] if params.drums else [])


def describe_procedural(params: CompositionParams, feeling: str) -> tuple[str, list[str], list[str]]:
    """(caption, keywords, AudioSet labels) of a composed piece, stated from its parameters."""
    pace = tempo_word(params.tempo_bpm)
    onsets_per_second = params.density * params.tempo_bpm / 60.0
    density = density_word(onsets_per_second)
    phrase, instruments = ensemble(params)
    key = (f"{PITCH_NAMES[params.root]} {MODE_TEXT[params.mode]}" if params.mode != "whole_tone"
           else f"a whole-tone scale on {PITCH_NAMES[params.root]}")
    dynamic = DYNAMIC_WORDS[params.dynamics]
    head = f"{pace.replace('moderate tempo', 'moderate-tempo')}, {dynamic}"
    melody = {"sparse": "a sparse", "dense": "a busy"}.get(density or "", "a flowing")
    backing = ACCOMPANIMENT_TEXT[params.accompaniment]
    caption = (f"{article(head)} {head} piece for {phrase} in {key} at {round(params.tempo_bpm)} BPM: "
               f"{melody} melody in a {params.register} register{' ' + backing if backing else ''}"
               f"{', growing louder' if params.crescendo else ''}; "
               f"it feels {join_words(list(FEELING_WORDS[feeling]))}.")
    register_kw = {"low": "low register", "high": "high register"}.get(params.register, "")
    keywords = unique([pace, LOUDNESS_KEYWORDS.get(params.dynamics, ""),
                       *MODE_KEYWORDS[params.mode], density or "", register_kw,
                       "crescendo" if params.crescendo else "",
                       *[i.name for i in instruments], *FEELING_WORDS[feeling]])
    genres = unique([i.genre for i in instruments])
    if len(genres) > 1:
        genres = [g for g in genres if g != "Classical music"]
    labels = unique(["Music", *[label for i in instruments for label in i.labels], *genres,
                     *MOOD_LABELS[feeling]])
    return caption, keywords, labels

