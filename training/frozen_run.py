"""A trained token-decoder run, frozen, grown by one small head, and saved as a new run.

The tempo head (training.tempo_head) and the palette head (training.palette_head) are both
fitted this way: the run's weights stay as they are, the model config gains the head, only the
head learns, and the new run directory holds the same weights plus the head (and the run's
feelings head), so export and the engine treat it like any run.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from training.checkpoint import load_sidecar, load_tensors, save_checkpoint
from training.config import TrainConfig
from training.encoders import EncoderSpec
from training.models import Art2Music, Art2MusicConfig
from training.trainer import TrainingData, load_training_data
from training.warm_start import grown_state


def best_weights(run: Path) -> Path:
    weights = Path(run) / "checkpoints" / "best.safetensors"
    if not weights.is_file():
        raise ValueError(f"{run} has no checkpoints/best.safetensors; pass a finished run.")
    return weights


def grown_token_run(run: Path, grow: Callable[[dict], None]) -> tuple[Art2Music, dict]:
    """`run`'s token-decoder model in eval mode after `grow` edited its ``tokens`` config (adds a
    head); the head starts as the model builds it, every other tensor is the run's. Returns the
    model and a copy of the run's sidecar."""
    weights = best_weights(run)
    sidecar = copy.deepcopy(load_sidecar(weights.parent, "best"))
    tokens = sidecar["model_config"].get("tokens")
    if sidecar["model_config"].get("decoder_kind") != "tokens" or not tokens:
        raise ValueError(f"{run} is not a token-decoder run; this head needs one.")
    grow(tokens)
    model = Art2Music(Art2MusicConfig.from_dict(sidecar["model_config"]))
    state, _ = grown_state(model, load_tensors(weights))
    model.load_state_dict(state)
    model.eval()
    return model, sidecar


def run_training_data(sidecar: dict, data: Path | None) -> tuple[TrainingData, Path]:
    """The run's data set (or `data`) with the run's encoders' cached embeddings, on the CPU."""
    train_config = sidecar.get("train_config") or {}
    data = Path(data or train_config.get("data") or "data/dataset")
    config = TrainConfig(data=data, image_encoder=train_config["image_encoder"],
                         text_encoder=train_config["text_encoder"])
    training = load_training_data(config, EncoderSpec.parse(config.image_encoder),
                                  EncoderSpec.parse(config.text_encoder), torch.device("cpu"))
    return training, data


def save_grown_run(run: Path, out: Path, model: Art2Music, sidecar: dict) -> Path:
    """Writes `out`/checkpoints/best.* (the grown model) next to a copy of `run`'s feelings
    head; returns the weights' path."""
    folder = Path(out) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    for extra in best_weights(run).parent.glob("feelings*"):  # the kiosk's feelings head
        shutil.copy2(extra, folder / extra.name)
    save_checkpoint(folder, "best", model, sidecar)
    return folder / "best.safetensors"
