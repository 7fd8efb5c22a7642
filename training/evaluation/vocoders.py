"""Vocoder hooks for evaluation: ``vocode(log_mel [n_mels, T]) -> audio [T · hop]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.audio_config import DEFAULT_AUDIO, AudioConfig
from core.griffin_lim import griffin_lim

VocodeFn = Callable[[np.ndarray], np.ndarray]

GRIFFIN_LIM = "griffin-lim"
SHIPPED_HIFIGAN = ("universal", "LJSpeech")


@dataclass(frozen=True)
class Vocoder:
    """A named vocoder function (the name goes into every evaluation report)."""

    name: str
    vocode: VocodeFn

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        return self.vocode(log_mel)


def _generator_file(source: Path) -> Path:
    """A HiFi-GAN run dir, its ``checkpoints/`` dir or a weight file → the weight file."""
    for candidate in (source, source / "generator.safetensors",
                      source / "checkpoints" / "generator.safetensors"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no HiFi-GAN generator at {source}; pass griffin-lim, universal, LJSpeech, a vocoder run "
        "directory or a generator .safetensors/.pth file.")


def hifigan_vocoder(source: str | Path, audio: AudioConfig = DEFAULT_AUDIO,
                    device: str = "cpu") -> Vocoder:
    """HiFi-GAN generator (``training.vocoder.load_generator``) with weight norm folded in."""
    import torch

    from training.vocoder import load_generator

    resolved = str(source) if str(source) in SHIPPED_HIFIGAN else _generator_file(Path(source))
    generator = load_generator(resolved, weight_norm=False).to(device)
    generator.config.check_audio(audio.hop_length, audio.n_mels)

    def vocode(log_mel: np.ndarray) -> np.ndarray:
        mel = torch.from_numpy(np.ascontiguousarray(log_mel, dtype=np.float32))[None].to(device)
        with torch.inference_mode():
            return generator(mel)[0, 0].cpu().numpy().astype(np.float32)

    return Vocoder(f"HiFi-GAN {generator.config.name} ({resolved})", vocode)


def make_vocoder(spec: str, audio: AudioConfig = DEFAULT_AUDIO, device: str = "cpu",
                 griffin_lim_iters: int = 32) -> Vocoder:
    """``griffin-lim``, a shipped HiFi-GAN (``universal`` / ``LJSpeech``) or a checkpoint path."""
    if spec == GRIFFIN_LIM:
        return Vocoder(f"Griffin-Lim ({griffin_lim_iters} iterations)",
                       lambda log_mel: griffin_lim(log_mel, audio, n_iter=griffin_lim_iters))
    return hifigan_vocoder(spec, audio, device)
