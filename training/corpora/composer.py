"""A small rule-based composer: known parameters in, a General MIDI file out.

Everything a procedural caption says is a parameter here (tempo, key and mode, instruments,
dynamics, register, note density), so the caption is true by construction. The melody is a
random walk over the scale in the chosen register that lands on chord tones when the chord
changes; the accompaniment voices a mode-appropriate progression (sustained chords, arpeggios,
an ostinato pulse or a drone); optional bass and drum kit. Every pitched note is in the scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mido
import numpy as np

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "whole_tone": (0, 2, 4, 6, 8, 10),
}
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 3, 6, 2), (0, 5, 3, 4)),
    "harmonic_minor": ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 0, 4)),
    "whole_tone": ((0, 1, 0, 1), (0, 0, 1, 1)),
}
DYNAMICS: dict[str, int] = {"pp": 34, "p": 48, "mp": 62, "mf": 78, "f": 96, "ff": 112}
"""MIDI velocity at the centre of each dynamic marking; notes stay within ±6 of it."""
REGISTERS: dict[str, tuple[int, int]] = {"low": (40, 60), "mid": (55, 76), "high": (70, 91)}
"""MIDI pitch range of the melody per register."""
ACCOMPANIMENTS = ("sustained", "arpeggio", "pulse", "drone", "none")
GRID_BEATS = (4.0, 2.0, 1.0, 0.5, 0.25)
DRUM_CHANNEL = 9
TICKS_PER_BEAT = 480


@dataclass(frozen=True)
class CompositionParams:
    """The known parameters of one procedural piece."""

    tempo_bpm: float
    root: int
    mode: str
    program: int
    dynamics: str
    register: str
    density: float
    accompaniment: str = "sustained"
    accompaniment_program: int | None = None
    bass_program: int | None = None
    drums: bool = False
    crescendo: bool = False
    seconds: float = 10.1
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "mode": (self.mode, SCALES),
            "dynamics": (self.dynamics, DYNAMICS),
            "register": (self.register, REGISTERS),
            "accompaniment": (self.accompaniment, ACCOMPANIMENTS),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name}={value!r} is not one of {sorted(allowed)}.")
        if not 20 <= self.tempo_bpm <= 300 or not 0 < self.density <= 8:
            raise ValueError("tempo_bpm must be in [20, 300] and density in (0, 8] notes/beat.")

    @property
    def beats(self) -> float:
        return self.seconds * self.tempo_bpm / 60.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Note:
    start: float
    duration: float
    pitch: int
    velocity: int
    channel: int
    role: str


def scale_pitches(root: int, mode: str, low: int, high: int) -> list[int]:
    """All MIDI pitches in [low, high] that belong to the scale."""
    classes = {(root + step) % 12 for step in SCALES[mode]}
    return [p for p in range(low, high + 1) if p % 12 in classes]


def chord_classes(root: int, mode: str, degree: int) -> list[int]:
    """Pitch classes of the triad built in thirds (every other scale step) on `degree`."""
    scale = SCALES[mode]
    return [(root + scale[(degree + 2 * k) % len(scale)]) % 12 for k in range(3)]


class _Dynamics:
    def __init__(self, params: CompositionParams, rng: np.random.Generator) -> None:
        self.centre, self.params, self.rng = DYNAMICS[params.dynamics], params, rng

    def velocity(self, beat: float, offset: int = 0) -> int:
        ramp = (-14 + 24 * beat / self.params.beats) if self.params.crescendo else 0
        jitter = int(np.clip(round(self.rng.normal(0, 3)), -6, 6))
        return int(np.clip(self.centre + ramp + offset + jitter, 1, 127))


def _melody(p: CompositionParams, chords: list[list[int]], chord_beats: float,
            dyn: _Dynamics, rng: np.random.Generator) -> list[Note]:
    pitches = scale_pitches(p.root, p.mode, *REGISTERS[p.register])
    base = min(GRID_BEATS, key=lambda g: abs(np.log(g * p.density)))
    index, beat, notes = len(pitches) // 2, 0.0, []
    while beat < p.beats - 1e-6:
        duration = base
        if rng.random() < 0.2 and base * 2 <= 4:
            duration = base * 2
        elif rng.random() < 0.2 and base / 2 >= 0.25:
            duration = base / 2
        index = int(np.clip(index + rng.choice([-2, -1, 0, 1, 2], p=[.15, .3, .1, .3, .15]),
                            0, len(pitches) - 1))
        chord = chords[int(beat // chord_beats) % len(chords)]
        if abs(beat % chord_beats) < 1e-6:
            tones = [i for i, q in enumerate(pitches) if q % 12 in chord]
            index = min(tones, key=lambda i: abs(i - index))
        if rng.random() > 0.08:
            length = min(duration, p.beats - beat) * 0.95
            notes.append(Note(beat, length, pitches[index], dyn.velocity(beat), 0, "melody"))
        beat += duration
    return notes


def _accompaniment(p: CompositionParams, chords: list[list[int]], chord_beats: float,
                   dyn: _Dynamics) -> list[Note]:
    low = max(REGISTERS[p.register][0] - 14, 33)
    pool = scale_pitches(p.root, p.mode, low, low + 16)
    notes: list[Note] = []
    if p.accompaniment == "none":
        return notes
    if p.accompaniment == "drone":
        tones = [q for q in pool if q % 12 in chords[0][:2]][:2]
        return [Note(0.0, p.beats, q, dyn.velocity(0.0, -8), 1, "accompaniment") for q in tones]
    n_chords = int(np.ceil(p.beats / chord_beats))
    for c in range(n_chords):
        start = c * chord_beats
        span = min(chord_beats, p.beats - start)
        voicing = [q for q in pool if q % 12 in chords[c % len(chords)]][:4]
        if p.accompaniment == "sustained":
            notes += [Note(start, span * 0.98, q, dyn.velocity(start, -10), 1, "accompaniment")
                      for q in voicing[:3]]
            continue
        step = 0.5
        pattern = voicing + voicing[-2:0:-1] if p.accompaniment == "arpeggio" else voicing[:2]
        for i in range(int(round(span / step))):
            beat = start + i * step
            pitch = pattern[i % len(pattern)]
            notes.append(Note(beat, step * 0.9, pitch, dyn.velocity(beat, -12), 1, "accompaniment"))
    return notes


def _bass(p: CompositionParams, chords: list[list[int]], chord_beats: float,
          dyn: _Dynamics) -> list[Note]:
    pool = scale_pitches(p.root, p.mode, 28, 47)
    notes, beat = [], 0.0
    while beat < p.beats - 1e-6:
        root_class = chords[int(beat // chord_beats) % len(chords)][0]
        pitch = next(q for q in pool if q % 12 == root_class)
        notes.append(Note(beat, min(1.5, p.beats - beat), pitch, dyn.velocity(beat, -4), 2, "bass"))
        beat += 2.0
    return notes


def _drums(p: CompositionParams, dyn: _Dynamics) -> list[Note]:
    notes = []
    for i in range(int(p.beats / 0.5)):
        beat = i * 0.5
        notes.append(Note(beat, 0.25, 42, dyn.velocity(beat, -20), DRUM_CHANNEL, "drums"))
        if i % 2 == 0:
            pitch = 36 if (i // 2) % 2 == 0 else 38
            notes.append(Note(beat, 0.25, pitch, dyn.velocity(beat, -6), DRUM_CHANNEL, "drums"))
    return notes


def compose(p: CompositionParams) -> list[Note]:
    """All notes of the piece (beats from the start), sorted by start time."""
    rng = np.random.default_rng(p.seed)
    progression = PROGRESSIONS[p.mode][int(rng.integers(len(PROGRESSIONS[p.mode])))]
    chords = [chord_classes(p.root, p.mode, degree) for degree in progression]
    chord_beats = 4.0 if p.tempo_bpm < 110 else 8.0
    dyn = _Dynamics(p, rng)
    notes = _melody(p, chords, chord_beats, dyn, rng) + _accompaniment(p, chords, chord_beats, dyn)
    if p.bass_program is not None:
        notes += _bass(p, chords, chord_beats, dyn)
    if p.drums:
        notes += _drums(p, dyn)
    return sorted(notes, key=lambda n: (n.start, n.channel, n.pitch))


def to_midi(p: CompositionParams, notes: list[Note]) -> mido.MidiFile:
    """A type-0 MIDI file: tempo, programs per channel, then the notes."""
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(p.tempo_bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    programs = {0: p.program, 1: p.accompaniment_program if p.accompaniment_program is not None
                else p.program, 2: p.bass_program}
    for channel, program in programs.items():
        if program is not None:
            track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    events = []
    for n in notes:
        on, off = round(n.start * TICKS_PER_BEAT), round((n.start + n.duration) * TICKS_PER_BEAT)
        events.append((on, 1, mido.Message("note_on", channel=n.channel, note=n.pitch,
                                            velocity=n.velocity)))
        events.append((max(off, on + 1), 0, mido.Message("note_off", channel=n.channel,
                                                         note=n.pitch, velocity=0)))
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=TICKS_PER_BEAT))
    return midi


def notes_per_beat(notes: list[Note], role: str = "melody") -> float:
    """Average onsets per beat of one role over the span of the piece."""
    selected = [n for n in notes if n.role == role]
    if not selected:
        return 0.0
    span = max(n.start + n.duration for n in selected)
    return len(selected) / max(span, 1e-6)
