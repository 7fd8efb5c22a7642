"""`main.py eval`: MCD / FAD / LSD / cosine of a checkpoint under the Table IV input modes, and
(with ``--bundle``) the kiosk-path report: how much painting and comment change the music when
composed exactly as the kiosk does (training/evaluation/kiosk_path.py)."""

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
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="Art2Music run directory (or its checkpoints/ dir or a .safetensors); "
                             "with --data: Table IV")
    parser.add_argument("--data", type=Path, default=None,
                        help="data set directory written by build-dataset")
    parser.add_argument("--bundle", type=Path, default=None,
                        help="model bundle: also write the kiosk-path report (painting vs comment "
                             "variation, pairwise Mel distances) to OUT/kiosk_path/")
    parser.add_argument("--paintings", type=Path, action="append", default=None,
                        help="paintings for the kiosk-path report: image files, folders or a "
                             "paintings JSONL (repeatable; default assets/artworks)")
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
    if args.bundle is None and (args.checkpoint is None or args.data is None):
        print("main.py eval needs --checkpoint and --data (Table IV), --bundle (kiosk-path "
              "report), or both.")
        return 2
    if args.checkpoint is not None and args.data is not None:
        _table_iv(args)
    if args.bundle is not None:
        _kiosk_path(args)
    return 0


def _kiosk_path(args: argparse.Namespace) -> None:
    from training.evaluation.kiosk_path import KioskPathConfig, kiosk_path_report, write_kiosk_path

    repo = Path(__file__).resolve().parents[2]
    paintings = tuple(args.paintings or [repo / "assets" / "artworks"])
    config = KioskPathConfig(bundle=args.bundle, paintings=paintings,
                             out=args.out / "kiosk_path", limit=args.limit)
    result = kiosk_path_report(config)
    paths = write_kiosk_path(result, config.out)
    shares = ", ".join(f"{k} {100 * v:.1f} %" for k, v in result.shares.items())
    print(f"kiosk path: {result.distinct_prompts}/{len(result.paintings)} distinct prompts "
          f"without a comment; median Mel distance between paintings "
          f"{result.median_distance:.3f}; variation over painting × comment: {shares}")
    print("wrote " + ", ".join(str(p) for p in paths.values()))


def _table_iv(args: argparse.Namespace) -> None:
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
