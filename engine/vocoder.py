"""The bundle's named vocoder: an ONNX HiFi-GAN generator or the no-weights Griffin-Lim."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from core.audio_config import AudioConfig
from core.griffin_lim import griffin_lim
from engine.session import GraphSession

GRIFFIN_LIM_ITERATIONS = 32
GRIFFIN_LIM_CROSSFADE_FRAMES = 4
"""Griffin-Lim blocks have independent phases: cross-fade 4 frames (46 ms) of shared context."""


class Vocoder(Protocol):
    name: str
    crossfade: int

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        """Waveform [T · hop] float32 from natural-log Mel [n_mels, T]."""


class OnnxVocoder:
    """A HiFi-GAN generator graph: log_mel [1, n_mels, T] → audio [1, 1, T · hop]."""

    crossfade = 0

    def __init__(self, name: str, session: GraphSession) -> None:
        self.name = name
        self._session = session
        self._input = session.input_names[0]

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        audio = self._session.run({self._input: np.asarray(log_mel, np.float32)[None]})[0]
        return audio.reshape(-1)


class GriffinLimVocoder:
    """core.griffin_lim with the bundle's audio config (no weights, CPU only)."""

    name = "griffin_lim"

    def __init__(self, audio: AudioConfig, n_iter: int = GRIFFIN_LIM_ITERATIONS) -> None:
        self.audio = audio
        self.n_iter = n_iter
        self.crossfade = GRIFFIN_LIM_CROSSFADE_FRAMES * audio.hop_length

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        return griffin_lim(log_mel, self.audio, n_iter=self.n_iter)
