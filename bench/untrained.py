"""Untrained runs and bundles with real model sizes, for honest offline latency measurements.

No weights need downloading: open_clip builds an untrained ViT-B-32 (``pretrained=None``), the
projector + BiLSTM decoder get the paper's sizes, and the vocoder is the packaged HiFi-GAN V1
(``universal``, real weights) or a random HiFi-GAN variant. Everything is labelled untrained
(run sidecar, bundle manifest ``provenance.untrained``, the benchmark's table title): the audio
is noise, so use these for speed and memory only. ::

    python -m bench.untrained --out runs/untrained-b32 --bundle bundles/untrained-b32
    main.py bench --bundle bundles/untrained-b32 --threads 2

The random encoder weights are saved to ``<out>/encoders/*.safetensors`` and named as the
encoder's local weight file, so the export and the benchmark's PyTorch eager column load the
*same* weights (a second ``pretrained=None`` build would draw different ones).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip)
from bench.report import UNTRAINED_LABEL
from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig

DEFAULT_ENCODER = "open_clip:ViT-B-32"


def freeze_untrained_encoder(text: str, folder: Path, seed: int = 0):
    """The EncoderSpec of `text`; an open_clip model without pretrained weights is initialised
    with `seed` and saved to `folder`, and the returned spec names that local file."""
    import open_clip
    import torch

    from training.checkpoint import save_tensors_atomic
    from training.encoders import EncoderSpec

    spec = EncoderSpec.parse(text)
    if spec.family != "open_clip" or spec.pretrained is not None:
        return spec
    path = (Path(folder) / f"{spec.name}-untrained-seed{seed}.safetensors").resolve()
    if not path.is_file():
        torch.manual_seed(seed)
        model = open_clip.create_model(spec.name, pretrained=None)
        save_tensors_atomic(path, model.state_dict(), {"untrained": "true", "seed": str(seed)})
    return EncoderSpec(spec.family, spec.name, str(path))


def write_untrained_run(out: Path, image: str, text: str, seed: int = 0, config=None,
                        audio: AudioConfig = DEFAULT_AUDIO) -> Path:
    """A run directory whose checkpoint is a randomly initialised Art2Music (paper size unless
    `config` is given) for the encoders `image` / `text` (``family:name[:pretrained]``)."""
    import torch

    from training.checkpoint import save_checkpoint
    from training.encoders import create_encoder
    from training.models import Art2Music, Art2MusicConfig, ProjectorConfig

    out = Path(out)
    image_spec = freeze_untrained_encoder(image, out / "encoders", seed)
    text_spec = freeze_untrained_encoder(text, out / "encoders", seed)
    if config is None:
        config = Art2MusicConfig(projector=ProjectorConfig(
            image_dim=create_encoder(image_spec).image_dim,
            text_dim=create_encoder(text_spec).text_dim))
    torch.manual_seed(seed)
    sidecar = {"model_config": config.to_dict(),
               "encoders": {"image": image_spec.to_dict(), "text": text_spec.to_dict()},
               "audio": audio.to_dict(), "mel_norm": DEFAULT_MEL_NORM.to_dict(),
               "epoch": 0, "step": 0, "val_loss": None, "untrained": True}
    save_checkpoint(out / "checkpoints", "best", Art2Music(config), sidecar)
    return out


def write_untrained_vocoder(out: Path, variant: str, seed: int = 0,
                            audio: AudioConfig = DEFAULT_AUDIO) -> Path:
    """A vocoder checkpoint folder with a randomly initialised HiFi-GAN generator."""
    import torch

    from training.checkpoint import save_json_atomic, save_tensors_atomic
    from training.vocoder import Generator, get_config

    config = get_config(variant)
    torch.manual_seed(seed)
    folder = Path(out) / "checkpoints"
    save_tensors_atomic(folder / "generator.safetensors", Generator(config).state_dict())
    save_json_atomic(folder / "generator.json", {
        "config_name": config.name, "hifigan": config.to_dict(),
        "audio": audio.to_dict(), "mel_norm": DEFAULT_MEL_NORM.to_dict(),
        "step": 0, "epoch": 0, "init": "random"})
    return folder / "generator.safetensors"


def build_untrained_bundle(run: Path, bundle: Path, vocoder: str = "universal",
                           fp16: bool = False):
    """Exports an untrained run (written by write_untrained_run) to `bundle`; the export's
    parity checks run as for a trained run. Returns export.pipeline.ExportResult."""
    from export.pipeline import ExportOptions, export_bundle

    return export_bundle(ExportOptions(checkpoint=Path(run), out=Path(bundle), vocoder=vocoder,
                                       fp16=fp16))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER,
                        help="image and text encoder (family:name[:pretrained]); without "
                             "pretrained, open_clip's random initialisation")
    parser.add_argument("--text-encoder", default=None, help="text encoder if different")
    parser.add_argument("--vocoder-config", default=None,
                        help="write a random HiFi-GAN of this variant (v1/v2/v3) and export "
                             "it instead of the packaged 'universal' V1")
    parser.add_argument("--bundle", type=Path, default=None,
                        help="also export the run to this bundle directory (for main.py bench)")
    parser.add_argument("--fp16", action="store_true", help="export with fp16 where parity holds")
    parser.add_argument("--seed", type=int, default=0, help="random initialisation seed")
    args = parser.parse_args(argv)
    run = write_untrained_run(args.out, args.encoder, args.text_encoder or args.encoder,
                              args.seed)
    print(f"untrained run: {run} — {UNTRAINED_LABEL}")
    vocoder = "universal"
    if args.vocoder_config:
        path = write_untrained_vocoder(args.out / "vocoder", args.vocoder_config, args.seed)
        print(f"untrained HiFi-GAN {args.vocoder_config}: {path}")
        vocoder = str(path)
    if args.bundle:
        result = build_untrained_bundle(run, args.bundle, vocoder, args.fp16)
        for report in result.reports:
            print(f"  {report.graph}: max abs error vs PyTorch {report.fp32_error:.1e} "
                  f"(tolerance {report.tolerance:g})")
        print(f"untrained bundle: {result.bundle} ({result.seconds:.0f} s) — time it with "
              f"`main.py bench --bundle {result.bundle}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
