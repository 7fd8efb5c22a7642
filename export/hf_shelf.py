"""A calibrated shelf above the Mel's top band, inside the exported vocoder graph (issue 9).

The log-Mel stops at ``AudioConfig.fmax`` (8 kHz) while the audio runs to 11.025 kHz, so what a
vocoder puts above 8 kHz is its own invention. Measured on real music played back from its own
Mels, both bundled vocoders invent too much of it: noise that the recordings do not have, and
that dominates the spectral flatness (issue 9's "not noise" measure: on ten test clips low-passed
at 8 kHz the flatness fell tenfold, recorded and vocoded alike; ``python -m
training.evaluation.vocoder_floor``). The shelf takes that excess back out:

1. **Calibration** (:func:`calibrate`): real *training* clips go through the generator from
   their own log-Mels; for each, the energy above ``fmax`` relative to the energy below it is
   compared with the recording's, in dB. The mean excess is the vocoder's; the shelf's gain is
   its negative (never a boost).
2. **Filter** (:func:`shelf_taps`): a linear-phase FIR (``scipy.signal.firwin2``) of unit gain
   below ``fmax − transition/2`` and the calibrated gain above ``fmax + transition/2``.
3. **Graph** (:class:`ShelvedGenerator`): the generator followed by the FIR as a centred
   ``conv1d`` (zero phase, no delay), so the shelf is one more layer of the ONNX graph. Its 32
   samples each side are far inside the streaming context that the exporter measures on the
   wrapped module, so streamed blocks still join exactly.

Nothing below ``fmax`` changes, which is everything the Mel, the decoder and musicnn (16 kHz)
see; the shelf only stops the vocoder from adding hiss where the model has no information.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import librosa
import numpy as np
import scipy.signal
import torch
from torch import nn

from core.audio_config import AudioConfig
from core.mel import log_mel

SHELF_TAPS = 65
"""FIR length: 32 samples (1.5 ms) each side, an eighth of a hop."""
TRANSITION_HZ = 800.0
"""Width of the band over which the gain moves from 1 to the shelf's, centred on fmax."""


@dataclass(frozen=True)
class ShelfCalibration:
    """What the calibration measured (kept in the bundle's provenance)."""

    gain_db: float
    excess_db_mean: float | None
    excess_db_std: float | None
    clips: int
    above_hz: float

    def to_dict(self) -> dict:
        return {key: (round(value, 3) if isinstance(value, float) else value)
                for key, value in asdict(self).items()}


def energy_above_db(audio: np.ndarray, config: AudioConfig,
                    above_hz: float | None = None) -> float:
    """Energy above `above_hz` (default ``config.fmax``) relative to the energy at or below
    ``config.fmax``, in dB (one STFT)."""
    power = np.abs(librosa.stft(np.asarray(audio, dtype=np.float32), n_fft=config.n_fft,
                                hop_length=config.hop_length)) ** 2
    freqs = librosa.fft_frequencies(sr=config.sample_rate, n_fft=config.n_fft)
    above = float(power[freqs > (config.fmax if above_hz is None else above_hz)].sum()) + 1e-12
    below = float(power[freqs <= config.fmax].sum()) + 1e-12
    return 10.0 * np.log10(above / below)


def calibrate(vocode: Callable[[np.ndarray], np.ndarray], clips: Sequence[np.ndarray],
              config: AudioConfig) -> ShelfCalibration:
    """Mean excess of the vocoder's energy above ``fmax`` over the recordings', on `clips`
    played back from their own log-Mels; the gain is its negative, or 0 where there is none."""
    if not clips:
        raise ValueError("the shelf needs real music clips to calibrate on; pass --music with "
                         "a data set that has training clips.")
    excess = np.array([energy_above_db(vocode(log_mel(clip, config)), config)
                       - energy_above_db(clip, config) for clip in clips])
    mean = float(excess.mean())
    return ShelfCalibration(gain_db=-max(0.0, mean), excess_db_mean=mean,
                            excess_db_std=float(excess.std()), clips=len(clips),
                            above_hz=float(config.fmax))


def shelf_taps(gain_db: float, config: AudioConfig, taps: int = SHELF_TAPS,
               transition_hz: float = TRANSITION_HZ) -> np.ndarray:
    """Linear-phase FIR: unit gain below the transition around ``fmax``, `gain_db` above it."""
    if gain_db > 0:
        raise ValueError(f"the shelf only cuts; got a gain of {gain_db:+.2f} dB.")
    nyquist = config.sample_rate / 2
    low, high = config.fmax - transition_hz / 2, config.fmax + transition_hz / 2
    if not 0 < low < high < nyquist:
        raise ValueError(f"fmax {config.fmax:g} Hz leaves no band for the shelf below the "
                         f"Nyquist frequency {nyquist:g} Hz.")
    gain = 10.0 ** (gain_db / 20.0)
    return scipy.signal.firwin2(taps, [0.0, low, high, nyquist], [1.0, 1.0, gain, gain],
                                fs=config.sample_rate)


class ShelvedGenerator(nn.Module):
    """A vocoder generator ([B, n_mels, F] → [B, 1, F·hop]) followed by a fixed FIR."""

    def __init__(self, generator: nn.Module, taps: np.ndarray) -> None:
        super().__init__()
        if taps.ndim != 1 or taps.size % 2 == 0:
            raise ValueError("the shelf's FIR needs an odd number of taps (zero phase).")
        self.generator = generator
        self.register_buffer("taps", torch.as_tensor(taps, dtype=torch.float32).view(1, 1, -1))

    def forward(self, log_mel_batch: torch.Tensor) -> torch.Tensor:
        audio = self.generator(log_mel_batch)
        return nn.functional.conv1d(audio, self.taps, padding=self.taps.shape[-1] // 2)


def torch_vocode(module: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A numpy log-Mel → audio function of a generator module, for :func:`calibrate`."""
    def vocode(mel: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(mel[None].astype(np.float32))).reshape(-1).numpy()
    return vocode
