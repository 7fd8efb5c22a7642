"""The procedural composer writes exactly the music its parameters describe."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from training.corpora.composer import (
    DRUM_CHANNEL,
    DYNAMICS,
    REGISTERS,
    SCALES,
    CompositionParams,
    compose,
    notes_per_beat,
    to_midi,
)
from training.corpora.music_presets import PRESETS, describe_procedural, sample_params
from training.corpora.music_words import FEELINGS


def _reload(params: CompositionParams, tmp_path) -> mido.MidiFile:
    path = tmp_path / "piece.mid"
    to_midi(params, compose(params)).save(path)
    return mido.MidiFile(path)


def _pitched_notes(midi: mido.MidiFile) -> list[mido.Message]:
    return [m for m in midi.tracks[0] if m.type == "note_on" and m.channel != DRUM_CHANNEL]


@pytest.mark.parametrize("mode", sorted(SCALES))
def test_every_pitched_note_is_in_the_scale(mode, tmp_path):
    params = CompositionParams(tempo_bpm=100, root=9, mode=mode, program=0, dynamics="mf",
                               register="mid", density=2.0, accompaniment="arpeggio",
                               bass_program=33, drums=True, seed=1)
    allowed = {(9 + step) % 12 for step in SCALES[mode]}
    notes = _pitched_notes(_reload(params, tmp_path))
    assert notes
    assert {m.note % 12 for m in notes} <= allowed


def test_tempo_meta_message_matches_the_parameter(tmp_path):
    params = CompositionParams(tempo_bpm=72, root=0, mode="minor", program=42, dynamics="p",
                               register="low", density=1.0)
    tempos = [m.tempo for m in _reload(params, tmp_path).tracks[0] if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(72)]


def test_minor_piece_uses_the_minor_third_not_the_major_third(tmp_path):
    params = CompositionParams(tempo_bpm=90, root=0, mode="minor", program=0, dynamics="mp",
                               register="mid", density=2.0, seed=5)
    classes = {m.note % 12 for m in _pitched_notes(_reload(params, tmp_path))}
    assert 3 in classes and 4 not in classes


@pytest.mark.parametrize("dynamics", sorted(DYNAMICS))
def test_velocities_stay_within_the_dynamic_band(dynamics):
    params = CompositionParams(tempo_bpm=120, root=2, mode="major", program=0, dynamics=dynamics,
                               register="mid", density=2.0, accompaniment="none", seed=2)
    melody = [n.velocity for n in compose(params) if n.role == "melody"]
    assert all(abs(v - DYNAMICS[dynamics]) <= 6 for v in melody)


@pytest.mark.parametrize("register", sorted(REGISTERS))
def test_melody_stays_in_its_register(register):
    params = CompositionParams(tempo_bpm=110, root=4, mode="major", program=73, dynamics="mf",
                               register=register, density=3.0, seed=3)
    low, high = REGISTERS[register]
    assert all(low <= n.pitch <= high for n in compose(params) if n.role == "melody")


@pytest.mark.parametrize("density", [0.5, 1.0, 2.0, 4.0])
def test_melody_note_density_follows_the_parameter(density):
    rates = [notes_per_beat(compose(CompositionParams(
        tempo_bpm=100, root=0, mode="major", program=0, dynamics="mf", register="mid",
        density=density, seed=seed))) for seed in range(4)]
    assert 0.6 * density <= float(np.mean(rates)) <= 1.4 * density


def test_drums_only_when_asked():
    base = dict(tempo_bpm=150, root=0, mode="major", program=29, dynamics="f", register="mid",
                density=2.0)
    assert not any(n.channel == DRUM_CHANNEL for n in compose(CompositionParams(**base)))
    assert any(n.channel == DRUM_CHANNEL for n in compose(CompositionParams(**base, drums=True)))


def test_piece_fills_the_requested_length_and_no_more():
    params = CompositionParams(tempo_bpm=60, root=0, mode="major", program=0, dynamics="mf",
                               register="mid", density=1.0, seconds=10.0)
    notes = compose(params)
    end = max(n.start + n.duration for n in notes)
    assert 8.0 <= end <= params.beats + 1e-6


def test_invalid_parameters_are_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="mode"):
        CompositionParams(tempo_bpm=100, root=0, mode="dorian", program=0, dynamics="mf",
                          register="mid", density=1.0)


@pytest.mark.parametrize("feeling", FEELINGS)
def test_presets_produce_captions_that_state_their_parameters(feeling):
    params = sample_params(feeling, np.random.default_rng(0), seconds=10.0, seed=0)
    caption, keywords, labels = describe_procedural(params, feeling)
    assert f"{round(params.tempo_bpm)} BPM" in caption
    assert params.mode in PRESETS[feeling].modes
    assert labels[0] == "Music"
    assert keywords[0] in ("slow", "moderate tempo", "fast")


def test_slow_quiet_minor_piano_caption():
    params = CompositionParams(tempo_bpm=62, root=9, mode="minor", program=0, dynamics="p",
                               register="low", density=0.5, accompaniment="none")
    caption, keywords, labels = describe_procedural(params, "sad")
    assert caption.startswith("A slow, quiet piece for solo piano in A minor at 62 BPM")
    assert "melancholic" in caption
    assert {"slow", "quiet", "minor key", "sparse", "low register"} <= set(keywords)
    assert {"Piano", "Classical music", "Sad music"} <= set(labels)
