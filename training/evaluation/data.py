"""What evaluation reads: the Art2Music checkpoint, the split's rows, references, embeddings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.audio_config import AudioConfig, MelNormalization
from core.mel import denormalize, load_audio
from training.checkpoint import load_sidecar, load_tensors
from training.encoders import EncoderSpec
from training.models import Art2Music, Art2MusicConfig


@dataclass
class LoadedModel:
    """An Art2Music checkpoint with everything its sidecar says about it."""

    model: Art2Music
    path: Path
    audio: AudioConfig
    mel_norm: MelNormalization
    image_spec: EncoderSpec
    text_spec: EncoderSpec
    sidecar: dict


def resolve_checkpoint(path: Path, stem: str | None = None) -> tuple[Path, str]:
    """(checkpoint folder, stem) from a run dir, its ``checkpoints/`` dir or a weight file.

    Without ``stem``, ``best`` is used when it exists, else ``last``.
    """
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return path.parent, stem or path.name.split(".")[0]
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if stem is None:
        stem = "best" if (folder / "best.json").exists() else "last"
    if not (folder / f"{stem}.json").exists():
        raise FileNotFoundError(f"no Art2Music checkpoint {stem}.json in {folder}; pass the run "
                                "directory written by `main.py train` as --checkpoint.")
    return folder, stem


def load_model(path: Path, stem: str | None = None, device: str = "cpu") -> LoadedModel:
    """Builds the model from ``model_config`` and loads its safetensors weights (eval mode)."""
    folder, stem = resolve_checkpoint(path, stem)
    sidecar = load_sidecar(folder, stem)
    if "encoders" not in sidecar or "model_config" not in sidecar:
        raise ValueError(f"{folder / stem}.json lacks model_config/encoders; it is not an "
                         "Art2Music checkpoint (vocoder runs are passed with --vocoder).")
    model = Art2Music(Art2MusicConfig.from_dict(sidecar["model_config"]))
    model.load_state_dict(load_tensors(folder / f"{stem}.safetensors"))
    return LoadedModel(
        model=model.to(device).eval(),
        path=folder / f"{stem}.safetensors",
        audio=AudioConfig.from_dict(sidecar["audio"]),
        mel_norm=MelNormalization.from_dict(sidecar["mel_norm"]),
        image_spec=EncoderSpec.from_dict(sidecar["encoders"]["image"]),
        text_spec=EncoderSpec.from_dict(sidecar["encoders"]["text"]),
        sidecar=sidecar,
    )


@dataclass(frozen=True)
class EvalRow:
    """One manifest row to evaluate; ``index`` is its position in the manifest."""

    id: str
    index: int
    audio_id: str
    mel_path: Path
    audio_path: Path
    audio_offset: float


def _resolve(base: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def read_eval_rows(dataset_dir: Path, split: str, limit: int | None = None) -> list[EvalRow]:
    """Rows of ``split`` in manifest order (the first ``limit`` of them)."""
    manifest = Path(dataset_dir) / "manifest.jsonl"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} does not exist; pass a data set directory written "
                                "by `main.py build-dataset` as --data.")
    items = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    rows = [EvalRow(id=str(item["id"]), index=index, audio_id=str(item["audio_id"]),
                    mel_path=_resolve(dataset_dir, item["mel_path"]),
                    audio_path=_resolve(dataset_dir, item.get("audio_path", "")),
                    audio_offset=float(item.get("audio_offset", 0.0)))
            for index, item in enumerate(items) if item.get("split") == split]
    if not rows:
        raise ValueError(f"split {split!r} of {dataset_dir} has no rows; choose --split train, "
                         "val or test.")
    return rows[:limit] if limit else rows


def load_embeddings(dataset_dir: Path, image_spec: EncoderSpec, text_spec: EncoderSpec
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Cached encoder outputs in manifest order, encoding (once) whatever is not cached yet."""
    from training.features import cache_embeddings, load_cached_embeddings

    try:
        return load_cached_embeddings(dataset_dir, image_spec, text_spec)
    except FileNotFoundError:
        cache_embeddings(dataset_dir, image_spec, text_spec)
        return load_cached_embeddings(dataset_dir, image_spec, text_spec)


def select_inputs(rows: list[EvalRow], ids: list[str], image: np.ndarray, text: np.ndarray
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and text embeddings [N, D] of ``rows`` (float32 tensors)."""
    if len(ids) <= max(row.index for row in rows) or any(ids[r.index] != r.id for r in rows):
        raise ValueError("cached embeddings do not follow the manifest order; delete the "
                         "data set's embeddings/ folder so they are recomputed.")
    chosen = [row.index for row in rows]
    return (torch.from_numpy(np.asarray(image[chosen], np.float32)),
            torch.from_numpy(np.asarray(text[chosen], np.float32)))


def reference_log_mel(row: EvalRow, mel_norm: MelNormalization) -> np.ndarray:
    """The row's target Mel as natural-log magnitudes [n_mels, frames]."""
    return denormalize(np.load(row.mel_path).astype(np.float32), mel_norm)


def reference_audio(row: EvalRow, audio: AudioConfig) -> np.ndarray:
    """The row's reference clip (``audio_path`` from ``audio_offset``), ``clip_samples`` long."""
    if not row.audio_path.is_file():
        raise FileNotFoundError(f"reference audio {row.audio_path} of row {row.id} is missing; "
                                "restore the corpus or pass --reference vocoded.")
    clip = load_audio(row.audio_path, audio, offset=row.audio_offset,
                      duration=audio.clip_seconds)[: audio.clip_samples]
    return np.pad(clip, (0, audio.clip_samples - clip.size))
