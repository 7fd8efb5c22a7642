"""Audio constants of Art2Music (Sec. III.A.5) — the one place they are written down."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class AudioConfig:
    """Mel-spectrogram definition shared by the decoder targets and the HiFi-GAN vocoder.

    Defaults are the paper's (22.05 kHz, n_fft 1024, hop 256, 80 Mels, T = 896) and match
    HiFi-GAN V1's own Mel (win 1024, fmax 8 kHz, natural log clamped at 1e-5).
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    frames: int = 896
    log_floor: float = 1e-5

    @property
    def clip_samples(self) -> int:
        """Samples covered by `frames` Mel frames (896 × 256 = 229 376, about 10.4 s)."""
        return self.frames * self.hop_length

    @property
    def clip_seconds(self) -> float:
        return self.clip_samples / self.sample_rate

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> AudioConfig:
        return cls(**{k: values[k] for k in cls.__dataclass_fields__ if k in values})


@dataclass(frozen=True)
class MelNormalization:
    """Affine map of natural-log Mel magnitudes onto [-1, 1] (Sec. III.A.5).

    ``log_min`` is the vocoder's log floor, ``log(1e-5)``; ``log_max`` is a fixed ceiling above
    any Mel of a full-scale signal seen in the corpora. Values are clipped into the range, so the
    inverse is exact for every Mel inside it. Stored in checkpoints and bundle manifests.
    """

    log_min: float = math.log(1e-5)
    log_max: float = 2.5

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> MelNormalization:
        return cls(log_min=float(values["log_min"]), log_max=float(values["log_max"]))


DEFAULT_AUDIO = AudioConfig()
DEFAULT_MEL_NORM = MelNormalization()
