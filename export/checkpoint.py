"""A training run's checkpoint as export needs it: weights, model config, encoders, audio."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.audio_config import AudioConfig, MelNormalization
from export.errors import ExportError
from training.checkpoint import load_tensors
from training.encoders import EncoderSpec
from training.models import Art2Music, Art2MusicConfig

STEMS = ("best", "last")
"""Checkpoint preference inside `<run>/checkpoints/`: best validation first."""


def checkpoint_file(path: str | Path) -> Path:
    """The weights file for a run directory, its checkpoints folder, or a .safetensors file."""
    path = Path(path)
    if path.is_file():
        return path
    for folder in (path / "checkpoints", path):
        for stem in STEMS:
            candidate = folder / f"{stem}.safetensors"
            if candidate.is_file() and candidate.with_suffix(".json").is_file():
                return candidate
    raise ExportError(f"no checkpoint in {path}; pass a training run directory (with "
                      "checkpoints/best.safetensors or last.safetensors) or a .safetensors file.")


@dataclass
class RunCheckpoint:
    """Weights path plus the JSON sidecar of one checkpoint."""

    weights: Path
    sidecar: dict[str, Any]

    @property
    def config(self) -> Art2MusicConfig:
        return Art2MusicConfig.from_dict(self.sidecar["model_config"])

    @property
    def encoders(self) -> dict[str, EncoderSpec]:
        values = self.sidecar.get("encoders") or self.sidecar["model_config"].get("encoders")
        if not values:
            raise ExportError(f"{self.weights.with_suffix('.json')} names no encoders; re-save the "
                              "checkpoint with the current trainer.")
        return {role: EncoderSpec.from_dict(values[role]) for role in ("image", "text")}

    @property
    def audio(self) -> AudioConfig:
        return AudioConfig.from_dict(self.sidecar.get("audio", {}))

    @property
    def mel_norm(self) -> MelNormalization:
        values = self.sidecar.get("mel_norm")
        return MelNormalization.from_dict(values) if values else MelNormalization()

    @property
    def dataset(self) -> Path | None:
        """The training data set directory, when the sidecar records it and it still exists."""
        data = (self.sidecar.get("train_config") or {}).get("data")
        return Path(data) if data and (Path(data) / "manifest.jsonl").is_file() else None

    @property
    def feelings_head(self) -> Path | None:
        """The feelings head the trainer fitted next to the checkpoint for this image encoder."""
        path = self.weights.parent / "feelings.safetensors"
        sidecar = path.with_suffix(".json")
        if not (path.is_file() and sidecar.is_file()):
            return None
        trained_for = json.loads(sidecar.read_text(encoding="utf-8")).get("image_encoder")
        return path if trained_for == self.encoders["image"].to_dict() else None

    def model(self) -> Art2Music:
        model = Art2Music(self.config)
        model.load_state_dict(load_tensors(self.weights))
        return model.eval()


def load_run(path: str | Path) -> RunCheckpoint:
    weights = checkpoint_file(path)
    sidecar_path = weights.with_suffix(".json")
    if not sidecar_path.is_file():
        raise ExportError(f"{weights} has no sidecar {sidecar_path.name}; export needs the model "
                          "config it holds, so re-save the checkpoint with the trainer.")
    return RunCheckpoint(weights, json.loads(sidecar_path.read_text(encoding="utf-8")))
