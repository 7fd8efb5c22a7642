"""Measured musical features of an audio clip (librosa), the facts behind recorded captions.

Tempo from the onset-strength autocorrelation (``librosa.feature.tempo``) with a pulse-clarity
score; key and mode by correlating the mean constant-Q chroma with the Krumhansl–Kessler key
profiles (Krumhansl 1990) in all 12 rotations; loudness as the RMS level in dBFS; brightness as
the energy-weighted spectral centroid; note density as detected onsets per second.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import librosa
import numpy as np

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
SILENCE_DB = -60.0
ONSET_DELTA = 1.0
"""An onset must rise this far (mean positive spectral flux, dB) above its local mean."""
FLAT_ENVELOPE = 0.3
"""Onset envelopes with less standard deviation than this (dB) are steady sound, no pulse."""


@dataclass(frozen=True)
class MusicFeatures:
    """What was measured on one clip (all plain floats/strings, JSON-friendly)."""

    tempo_bpm: float
    pulse_clarity: float
    key: str
    mode: str
    key_strength: float
    mode_margin: float
    rms_db: float
    centroid_hz: float
    onset_rate: float

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def estimate_key(chroma_mean: np.ndarray) -> tuple[int, str, float, float]:
    """(tonic pitch class, "major"|"minor", best correlation, major−minor margin) of a chroma."""
    chroma_mean = np.asarray(chroma_mean, dtype=np.float64)
    if not np.any(chroma_mean > 0) or np.allclose(chroma_mean, chroma_mean[0]):
        return 0, "major", 0.0, 0.0
    scores = {}
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        scores[mode] = [np.corrcoef(chroma_mean, np.roll(profile, tonic))[0, 1] for tonic in range(12)]
    best_major, best_minor = max(scores["major"]), max(scores["minor"])
    mode = "major" if best_major >= best_minor else "minor"
    tonic = int(np.argmax(scores[mode]))
    return tonic, mode, float(max(best_major, best_minor)), float(abs(best_major - best_minor))


def pulse_clarity(onset_env: np.ndarray, sr: int, hop: int) -> float:
    """Height of the strongest autocorrelation peak of the onset envelope between 0.25 and 2 s.

    Near 1 for a steady beat, near 0 for free, unpulsed sound.
    """
    env = onset_env - onset_env.mean()
    if env.size < 4 or onset_env.std() < FLAT_ENVELOPE:
        return 0.0
    ac = librosa.autocorrelate(env)
    ac = ac / (ac[0] + 1e-12)
    lo, hi = int(0.25 * sr / hop), min(int(2.0 * sr / hop), ac.size - 1)
    return float(np.clip(ac[lo:hi].max(), 0.0, 1.0)) if hi > lo else 0.0


def measure_features(audio: np.ndarray, sr: int, hop: int = 512) -> MusicFeatures:
    """Measures tempo, pulse, key/mode, loudness, brightness and onset density of a mono clip."""
    audio = np.asarray(audio, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(audio)))) if audio.size else 0.0
    rms_db = 20.0 * np.log10(max(rms, 1e-9))
    if rms_db < SILENCE_DB:
        return MusicFeatures(0.0, 0.0, "C", "major", 0.0, 0.0, rms_db, 0.0, 0.0)
    onset_env = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=hop)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset_env, sr=sr,
                                                      hop_length=hop))[0])
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr, hop_length=hop,
                                        normalize=False, delta=ONSET_DELTA)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Trying to estimate tuning")
        chroma = librosa.feature.chroma_cqt(y=audio, sr=sr, hop_length=hop)
    tonic, mode, strength, margin = estimate_key(chroma.mean(axis=1))
    spectrum_centroid = librosa.feature.spectral_centroid(y=audio, sr=sr, hop_length=hop)[0]
    frame_rms = librosa.feature.rms(y=audio, hop_length=hop)[0]
    n = min(spectrum_centroid.size, frame_rms.size)
    centroid = float(np.average(spectrum_centroid[:n], weights=frame_rms[:n] ** 2 + 1e-12))
    return MusicFeatures(
        tempo_bpm=tempo,
        pulse_clarity=pulse_clarity(onset_env, sr, hop),
        key=PITCH_NAMES[tonic],
        mode=mode,
        key_strength=strength,
        mode_margin=margin,
        rms_db=float(rms_db),
        centroid_hz=centroid,
        onset_rate=len(onsets) * sr / max(audio.size, 1),
    )
