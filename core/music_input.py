"""Reads a music file for matching (issue 11), with one clear sentence for every bad file."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

MAX_SECONDS = 600.0
"""Longer files are searched for their highlight in their first 10 minutes only (an hour of
audio at 22.05 kHz is 300 MB of samples plus its spectrogram)."""
SILENCE_PEAK = 1e-4


class MusicFileError(ValueError):
    """The file cannot be used as music; the message says why and what to do."""


@dataclass(frozen=True)
class MusicFile:
    audio: np.ndarray
    sample_rate: int
    duration: float
    """The whole file's length in seconds."""
    capped: bool
    """True when only the first ``max_seconds`` were read."""


def read_music(path: str | Path, sample_rate: int, max_seconds: float = MAX_SECONDS) -> MusicFile:
    """Mono float32 audio at `sample_rate` from the first `max_seconds` of an audio file."""
    path = Path(path)
    if not path.is_file():
        raise MusicFileError(f"{path} does not exist; give the path of a WAV, FLAC, OGG or MP3 "
                             "file.")
    if path.stat().st_size == 0:
        raise MusicFileError(f"{path} is empty (0 bytes); record or copy the music again.")
    try:
        with warnings.catch_warnings():  # librosa's "PySoundFile failed, trying audioread"
            warnings.simplefilter("ignore")
            duration = float(librosa.get_duration(path=str(path)))
    except Exception as error:  # soundfile / audioread raise many types on non-audio input
        raise MusicFileError(f"{path} cannot be read as audio ({type(error).__name__}); give a "
                             "WAV, FLAC, OGG or MP3 file.") from None
    if not np.isfinite(duration) or duration <= 0:
        raise MusicFileError(f"{path} holds no audio samples; record or copy the music again.")
    capped = duration > max_seconds
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audio, _ = librosa.load(str(path), sr=sample_rate, mono=True,
                                    duration=max_seconds if capped else None)
    except Exception as error:
        raise MusicFileError(f"{path} cannot be decoded ({type(error).__name__}); convert it "
                             "to WAV and try again.") from None
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        raise MusicFileError(f"{path} holds no audio samples; record or copy the music again.")
    if not np.all(np.isfinite(audio)):
        raise MusicFileError(f"{path} contains invalid samples (NaN or infinity); export it "
                             "again.")
    if float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise MusicFileError(f"{path} is silent; there is no music in it to match.")
    return MusicFile(audio, sample_rate, duration, capped)
