"""`main.py eval`: MCD / FAD / LSD / cosine of a checkpoint under the Table IV input modes."""

from __future__ import annotations

import argparse
from pathlib import Path

MODES = ("full", "text-only", "image-only", "random")


def _modes(text: str) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"unknown mode(s) {unknown}; use a comma-separated "
                                         f"subset of {','.join(MODES)}")
    return modes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="Art2Music run directory (or its checkpoints/ dir or a .safetensors)")
    parser.add_argument("--data", type=Path, required=True,
                        help="data set directory written by build-dataset")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--vocoder", default="griffin-lim",
                        help="griffin-lim, universal / LJSpeech (shipped HiFi-GAN) or a HiFi-GAN "
                             "run directory / generator checkpoint")
    parser.add_argument("--modes", type=_modes, default=",".join(MODES),
                        help="comma-separated input modes of Table IV")
    parser.add_argument("--limit", type=int, default=None, help="evaluate the first N rows only")
    parser.add_argument("--out", type=Path, default=Path("runs/eval"),
                        help="folder for metrics.csv / .json / .png and example audio")
    parser.add_argument("--reference", default="audio", choices=["audio", "vocoded"],
                        help="reference waveform: the original clip, or the target Mel vocoded")
    parser.add_argument("--stem", default=None, choices=["best", "last"],
                        help="checkpoint to load; best when present, else last")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random-input baseline")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--embedding-layer", default="penultimate",
                        choices=["penultimate", "mean_pool", "max_pool", "taggram"],
                        help="musicnn representation used for FAD and cosine")
    parser.add_argument("--musicnn-weights", type=Path, default=None,
                        help="converted musicnn MTT weights (.safetensors + .json; default: "
                             "assets/embedders/musicnn_mtt.safetensors)")
    parser.add_argument("--griffin-lim-iters", type=int, default=32)
    parser.add_argument("--save-audio", type=int, default=2,
                        help="write this many generated clips per mode to OUT/audio/")


def run(args: argparse.Namespace) -> int:
    from training.evaluation.evaluate import EvalConfig, evaluate
    from training.evaluation.report import print_table, write_all

    config = EvalConfig(
        checkpoint=args.checkpoint, data=args.data, out=args.out, split=args.split,
        modes=tuple(args.modes), vocoder=args.vocoder, limit=args.limit, seed=args.seed,
        reference=args.reference, stem=args.stem, batch_size=args.batch_size,
        device=args.device, embedding_layer=args.embedding_layer,
        musicnn_weights=args.musicnn_weights, griffin_lim_iters=args.griffin_lim_iters,
        save_audio=args.save_audio,
    )
    result = evaluate(config)
    print_table(result)
    paths = write_all(result, args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
