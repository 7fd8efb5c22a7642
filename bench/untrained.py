"""Untrained runs with real model sizes, for latency measurements before any training.

    python -m bench.untrained --out runs/untrained-b32 --encoder open_clip:ViT-B-32 \\
        --vocoder-config v2

writes ``<out>/checkpoints/best.safetensors`` (+ sidecar) with random weights of the paper-size
projector and decoder for that encoder's widths, and with ``--vocoder-config``
``<out>/vocoder/checkpoints/generator.safetensors`` (+ ``generator.json``) with a random
HiFi-GAN of that variant. Export them with ``main.py export`` and time with ``main.py bench``.
The audio they produce is noise: use them for speed and memory only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip)
from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM


def write_untrained_run(out: Path, image: str, text: str, seed: int = 0) -> Path:
    """A run directory whose checkpoint is a randomly initialised paper-size Art2Music."""
    import torch

    from training.checkpoint import save_checkpoint
    from training.encoders import EncoderSpec, create_encoder
    from training.models import Art2Music, Art2MusicConfig, ProjectorConfig

    image_spec, text_spec = EncoderSpec.parse(image), EncoderSpec.parse(text)
    image_dim = create_encoder(image_spec).image_dim
    text_dim = create_encoder(text_spec).text_dim
    config = Art2MusicConfig(projector=ProjectorConfig(image_dim=image_dim, text_dim=text_dim))
    torch.manual_seed(seed)
    sidecar = {"model_config": config.to_dict(),
               "encoders": {"image": image_spec.to_dict(), "text": text_spec.to_dict()},
               "audio": DEFAULT_AUDIO.to_dict(), "mel_norm": DEFAULT_MEL_NORM.to_dict(),
               "epoch": 0, "step": 0, "val_loss": None, "untrained": True}
    save_checkpoint(out / "checkpoints", "best", Art2Music(config), sidecar)
    return out


def write_untrained_vocoder(out: Path, variant: str, seed: int = 0) -> Path:
    """A vocoder checkpoint folder with a randomly initialised HiFi-GAN generator."""
    import torch

    from training.checkpoint import save_json_atomic, save_tensors_atomic
    from training.vocoder import Generator, get_config

    config = get_config(variant)
    torch.manual_seed(seed)
    folder = out / "checkpoints"
    save_tensors_atomic(folder / "generator.safetensors", Generator(config).state_dict())
    save_json_atomic(folder / "generator.json", {
        "config_name": config.name, "hifigan": config.to_dict(),
        "audio": DEFAULT_AUDIO.to_dict(), "mel_norm": DEFAULT_MEL_NORM.to_dict(),
        "step": 0, "epoch": 0, "init": "random"})
    return folder / "generator.safetensors"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    parser.add_argument("--encoder", default="open_clip:ViT-B-32",
                        help="image and text encoder (family:name[:pretrained])")
    parser.add_argument("--text-encoder", default=None, help="text encoder if different")
    parser.add_argument("--vocoder-config", default=None, help="also a random HiFi-GAN: v1/v2/v3")
    args = parser.parse_args(argv)
    run = write_untrained_run(args.out, args.encoder, args.text_encoder or args.encoder)
    print(f"untrained run: {run}")
    if args.vocoder_config:
        path = write_untrained_vocoder(args.out / "vocoder", args.vocoder_config)
        print(f"untrained HiFi-GAN {args.vocoder_config}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
