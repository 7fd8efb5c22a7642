"""Loudness from the Mel: the estimate tracks the real RMS, and the gain lands on the target."""

import numpy as np
import pytest

from core.loudness import estimate_rms_dbfs, normalising_gain
from core.mel import log_mel

SR = 22050


def rms_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))))


def signals() -> dict[str, np.ndarray]:
    t = np.arange(SR * 3) / SR
    rng = np.random.default_rng(0)
    notes = np.concatenate([np.sin(2 * np.pi * f * t[: SR // 2]) * np.hanning(SR // 2)
                            for f in (262, 330, 392, 523, 392, 330)])
    return {
        "tone": 0.3 * np.sin(2 * np.pi * 440 * t),
        "chord": 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)),
        "melody": 0.05 * notes,
        "quiet_piano_like": 0.005 * notes * np.exp(-np.arange(notes.size) / SR),
        "low_noise": 0.05 * np.convolve(rng.standard_normal(t.size), np.ones(8) / 8, "same"),
    }


@pytest.mark.parametrize("name", sorted(signals()))
def test_estimate_is_within_3_db_of_the_waveform(name):
    audio = signals()[name].astype(np.float32)
    assert estimate_rms_dbfs(log_mel(audio)) == pytest.approx(rms_dbfs(audio), abs=3.0)


def test_gain_brings_quiet_and_loud_pieces_to_the_target():
    for name, audio in signals().items():
        audio = audio.astype(np.float32)
        gained = audio * normalising_gain(log_mel(audio), target_dbfs=-20.0, max_gain_db=60)
        assert rms_dbfs(gained) == pytest.approx(-20.0, abs=3.0), name


def test_gain_is_capped_for_near_silence():
    silence = np.full((80, 100), np.log(1e-5), np.float32)
    assert normalising_gain(silence, max_gain_db=30.0) == pytest.approx(10 ** 1.5)
