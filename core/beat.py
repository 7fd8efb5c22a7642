"""A beat clock for the token decoder: beat positions of a Mel → per-frame phase features.

The token decoder had no sense of time, so its onsets fell anywhere and pieces had no beat
(issue 9: onset-autocorrelation peak 0.15 against 0.49 for real music). MODEL_NOTES ("Second
study") suggests a per-frame beat-phase input: in training the phase comes from the beats librosa
tracks in the target clip, at generation from a steady clock at the tempo the model predicts
from the condition. The features are the sine and cosine of the beat phase and of the bar phase
(four beats), so the decoder can learn where in the beat and in the bar an onset belongs.

numpy/librosa only: the engine builds the same clock without PyTorch.
"""

from __future__ import annotations

import librosa
import numpy as np

from core.audio_config import DEFAULT_AUDIO, AudioConfig

BEAT_FEATURES = 4
"""sin/cos of the beat phase and of the bar phase."""
BEATS_PER_BAR = 4
TEMPO_RANGE_BPM = (60.0, 200.0)


def tempo_bins(count: int = 12, low: float = TEMPO_RANGE_BPM[0],
               high: float = TEMPO_RANGE_BPM[1]) -> tuple[float, ...]:
    """`count` tempi (BPM) spaced evenly on a log scale from `low` to `high`."""
    if count < 2:
        raise ValueError(f"need at least 2 tempo bins, got {count}")
    return tuple(float(b) for b in np.geomspace(low, high, count))


def nearest_bin(bpm: float, bins: tuple[float, ...]) -> int:
    """Index of the bin nearest to `bpm` on a log scale (octave errors stay octave errors)."""
    return int(np.argmin(np.abs(np.log(np.asarray(bins)) - np.log(max(bpm, 1e-3)))))


def track_beats(mel: np.ndarray, audio: AudioConfig = DEFAULT_AUDIO) -> tuple[float, np.ndarray]:
    """(tempo in BPM, beat frame indices) of a log-Mel [n_mels, frames] (natural-log or
    normalised: the onset envelope is a rectified frame difference, so the scale cancels)."""
    envelope = librosa.onset.onset_strength(S=np.asarray(mel, dtype=np.float32),
                                            sr=audio.sample_rate, hop_length=audio.hop_length)
    tempo, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=audio.sample_rate,
                                           hop_length=audio.hop_length, start_bpm=110.0,
                                           units="frames")
    return float(np.atleast_1d(tempo)[0]), np.asarray(beats, dtype=np.int64)


def phase_features(beat_position: np.ndarray) -> np.ndarray:
    """[frames, 4] float32: sin/cos of 2π·beat and of 2π·beat/4 for fractional beat counts."""
    beat = np.asarray(beat_position, dtype=np.float64)
    bar = beat / BEATS_PER_BAR
    return np.stack([np.sin(2 * np.pi * beat), np.cos(2 * np.pi * beat),
                     np.sin(2 * np.pi * bar), np.cos(2 * np.pi * bar)], axis=-1).astype(np.float32)


def steady_clock(frames: int, bpm: float, audio: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Beat features [frames, 4] of a steady tempo, the first beat on frame 0 (generation)."""
    if bpm <= 0:
        raise ValueError(f"tempo must be positive, got {bpm}")
    beats_per_frame = bpm / 60.0 * audio.hop_length / audio.sample_rate
    return phase_features(np.arange(frames) * beats_per_frame)


def tracked_clock(beats: np.ndarray, frames: int, bpm: float,
                  audio: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Beat features [frames, 4] that follow tracked `beats` (frame indices): the beat count is
    interpolated between beats and continued at `bpm` before the first and after the last."""
    beats = np.unique(np.asarray(beats, dtype=np.float64))
    if len(beats) < 2:
        return steady_clock(frames, bpm if bpm > 0 else 120.0, audio)
    per_frame = 1.0 / float(np.median(np.diff(beats)))
    t = np.arange(frames, dtype=np.float64)
    position = np.interp(t, beats, np.arange(len(beats), dtype=np.float64))
    position = np.where(t < beats[0], (t - beats[0]) * per_frame, position)
    position = np.where(t > beats[-1], len(beats) - 1 + (t - beats[-1]) * per_frame, position)
    return phase_features(position)


def onset_lagged(history: np.ndarray, t: int, lag: int, none: int) -> np.ndarray:
    """The repetition prior's lagged codes [1, stages] for frame `t`: per stage, the code chosen
    `lag` frames earlier if it was new then (it differed from the frame before it, or began the
    piece), else `none` (no prior). `history` [frames, stages] holds the codes chosen so far."""
    back = t - lag
    if back < 0:
        return np.full((1, history.shape[1]), none, dtype=np.int64)
    codes = np.array(history[back], dtype=np.int64)
    if back >= 1:
        codes[codes == history[back - 1]] = none
    return codes[None]


def lag_frames(bpm: float, beats: float, audio: AudioConfig = DEFAULT_AUDIO) -> int:
    """The number of Mel frames in `beats` beats at `bpm` (at least 1): the lag at which the
    token decoder's repetition prior looks back (TokenMelDecoder.step)."""
    if bpm <= 0 or beats <= 0:
        raise ValueError(f"tempo and beats must be positive, got {bpm} BPM and {beats} beats")
    return max(1, int(round(beats * 60.0 / bpm * audio.sample_rate / audio.hop_length)))
