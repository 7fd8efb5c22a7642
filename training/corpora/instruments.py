"""General MIDI programs used by the composer: caption names, AudioSet labels and a genre."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    program: int
    name: str
    labels: tuple[str, ...]
    genre: str


_CLASSICAL, _ELECTRONIC, _ROCK, _AMBIENT = (
    "Classical music", "Electronic music", "Rock music", "Ambient music")

INSTRUMENTS: dict[int, Instrument] = {i.program: i for i in (
    Instrument(0, "piano", ("Piano", "Keyboard (musical)"), _CLASSICAL),
    Instrument(4, "electric piano", ("Electric piano", "Keyboard (musical)"), _ELECTRONIC),
    Instrument(8, "celesta", ("Keyboard (musical)",), _CLASSICAL),
    Instrument(9, "glockenspiel", ("Glockenspiel", "Mallet percussion"), _CLASSICAL),
    Instrument(11, "vibraphone", ("Vibraphone", "Mallet percussion"), _CLASSICAL),
    Instrument(12, "marimba", ("Marimba, xylophone", "Mallet percussion"), _CLASSICAL),
    Instrument(19, "church organ", ("Organ", "Keyboard (musical)"), _CLASSICAL),
    Instrument(24, "nylon-string guitar", ("Acoustic guitar", "Guitar"), _CLASSICAL),
    Instrument(29, "overdriven electric guitar", ("Electric guitar", "Guitar"), _ROCK),
    Instrument(32, "acoustic bass", ("Double bass",), _CLASSICAL),
    Instrument(33, "electric bass", ("Bass guitar",), _ROCK),
    Instrument(40, "violin", ("Violin, fiddle", "Bowed string instrument"), _CLASSICAL),
    Instrument(42, "cello", ("Cello", "Bowed string instrument"), _CLASSICAL),
    Instrument(43, "double bass", ("Double bass", "Bowed string instrument"), _CLASSICAL),
    Instrument(44, "tremolo strings", ("String section", "Bowed string instrument"), _CLASSICAL),
    Instrument(45, "pizzicato strings", ("String section", "Pizzicato"), _CLASSICAL),
    Instrument(46, "harp", ("Harp",), _CLASSICAL),
    Instrument(47, "timpani", ("Timpani", "Percussion"), _CLASSICAL),
    Instrument(48, "string ensemble", ("String section", "Orchestra"), _CLASSICAL),
    Instrument(52, "choir", ("Choir",), _CLASSICAL),
    Instrument(56, "trumpet", ("Trumpet", "Brass instrument"), _CLASSICAL),
    Instrument(57, "trombone", ("Trombone", "Brass instrument"), _CLASSICAL),
    Instrument(60, "French horn", ("French horn", "Brass instrument"), _CLASSICAL),
    Instrument(61, "brass section", ("Brass instrument",), _CLASSICAL),
    Instrument(68, "oboe", ("Oboe", "Wind instrument, woodwind instrument"), _CLASSICAL),
    Instrument(71, "clarinet", ("Clarinet", "Wind instrument, woodwind instrument"), _CLASSICAL),
    Instrument(73, "flute", ("Flute", "Wind instrument, woodwind instrument"), _CLASSICAL),
    Instrument(80, "square-wave synth lead", ("Synthesizer",), _ELECTRONIC),
    Instrument(81, "sawtooth synth lead", ("Synthesizer",), _ELECTRONIC),
    Instrument(88, "new-age synth pad", ("Synthesizer",), _AMBIENT),
    Instrument(89, "warm synth pad", ("Synthesizer",), _AMBIENT),
    Instrument(94, "halo synth pad", ("Synthesizer",), _AMBIENT),
)}
DRUM_KIT = Instrument(-1, "drum kit", ("Drum kit", "Drum", "Percussion"), _ROCK)


def instrument(program: int) -> Instrument:
    """The Instrument of a GM program used here; KeyError names the program."""
    if program not in INSTRUMENTS:
        raise KeyError(f"GM program {program} has no caption name; add it to INSTRUMENTS.")
    return INSTRUMENTS[program]
