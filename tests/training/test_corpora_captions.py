"""Recorded-music captions say what librosa measures, on signals whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from training.corpora.music_captions import describe_recorded, title_moods
from training.corpora.music_features import estimate_key, measure_features

SR = 22050
SECONDS = 10.4


def _pulses(bpm: float, length: float, seconds: float = SECONDS) -> np.ndarray:
    envelope = np.zeros(int(seconds * SR), np.float32)
    for start in np.arange(0, seconds, 60.0 / bpm):
        i, n = int(start * SR), int(length * SR)
        envelope[i:i + n] = np.exp(-np.arange(min(n, envelope.size - i)) / (0.05 * SR))
    return envelope


@pytest.fixture(scope="module")
def loud_fast_bright():
    noise = np.random.default_rng(0).standard_normal(int(SECONDS * SR)).astype(np.float32)
    return np.clip(0.9 * noise * _pulses(160, 0.3), -1, 1)


@pytest.fixture(scope="module")
def quiet_slow_low():
    t = np.arange(int(SECONDS * SR)) / SR
    return (0.02 * np.sin(2 * np.pi * 110 * t) * _pulses(50, 1.0)).astype(np.float32)


def test_loud_fast_bright_noise_bursts(loud_fast_bright):
    features = measure_features(loud_fast_bright, SR)
    assert 150 <= features.tempo_bpm <= 170
    description = describe_recorded(features)
    assert {"fast", "loud", "bright", "steady beat"} <= set(description.keywords)
    assert description.feeling in ("energetic", "tense")
    assert "fast, loud" in description.caption


def test_quiet_slow_low_sine(quiet_slow_low):
    features = measure_features(quiet_slow_low, SR)
    description = describe_recorded(features)
    assert {"slow", "quiet", "dark", "sparse"} <= set(description.keywords)
    assert not {"fast", "loud", "bright", "dense"} & set(description.keywords)
    assert description.feeling in ("calm", "sad", "eerie")


def test_steady_tone_has_no_onsets_and_no_pulse():
    t = np.arange(int(SECONDS * SR)) / SR
    features = measure_features((0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR)
    assert features.onset_rate == 0.0
    assert features.pulse_clarity == 0.0


@pytest.mark.parametrize(("triad", "tonic", "mode"), [((9, 0, 4), 9, "minor"),
                                                      ((0, 4, 7), 0, "major")])
def test_key_profiles_find_tonic_and_mode_of_a_triad(triad, tonic, mode):
    chroma = np.full(12, 0.05)
    chroma[list(triad)] = 1.0
    found_tonic, found_mode, strength, _ = estimate_key(chroma)
    assert (found_tonic, found_mode) == (tonic, mode)
    assert strength > 0.6


def test_minor_chord_audio_is_captioned_minor_key():
    t = np.arange(int(SECONDS * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63))
    description = describe_recorded(measure_features((0.1 * chord).astype(np.float32), SR))
    assert "minor key" in description.keywords
    assert " in A minor" in description.caption


def test_mood_titles_add_words_and_decide_the_feeling(quiet_slow_low):
    assert title_moods("the_king_is_dead") == ("sad", ["mournful"])
    assert title_moods("love_theme") == ("calm", ["tender", "romantic"])
    assert title_moods("knolls") == (None, [])
    description = describe_recorded(measure_features(quiet_slow_low, SR), "victory2")
    assert description.feeling == "happy"
    assert "triumphant" in description.keywords
    assert "Its title suggests something triumphant." in description.caption
