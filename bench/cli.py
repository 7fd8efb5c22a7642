"""`main.py bench`: latency per stage, first block and full piece, real-time factor, memory.

Example::

    main.py bench --bundle bundles/paper --repeats 10 --out bench_results/paper
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

LOG_WIDTH = 120
"""Console width when the output goes to a file or CI log (no terminal to measure)."""

EPILOG = """\
Targets (2-core CPU): image → first audio block ≤ 1.5 s with a ViT-B-size image encoder; full
10.4 s piece faster than real time (real_time_factor < 1); engine ≥ 2× PyTorch eager on the
same weights ("eager / engine" column) with outputs within 1e-3 for an fp32 bundle
("max |Δ| vs eager" column).

Offline, without trained weights: benchmark an UNTRAINED bundle of real size (open_clip's
randomly initialised ViT-B-32 image and text towers, paper-size projector + BiLSTM decoder, the
packaged HiFi-GAN V1), built by bench/untrained.py:
  python -m bench.untrained --out runs/untrained-b32 --bundle bundles/untrained-b32
  main.py bench --bundle bundles/untrained-b32 --threads 2
Its table, chart and summary.csv are labelled UNTRAINED: latency and memory only, the audio is
noise.
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Option defaults shown, epilog kept as written."""


_HELP = {
    "bundle": "model bundle directory (written by `main.py export`)",
    "repeats": "timed repeats per stage after one warm-up (median and p95 are reported)",
    "short": "CI mode: 2 repeats (same stages, table, CSV and PNG)",
    "providers": "comma list overriding TensorRT → CUDA → CPU, e.g. cuda,cpu",
    "out": "folder for latency.csv, summary.csv and latency.png",
    "chunk_frames": "Mel frames per streamed audio block",
    "no_eager": "skip the PyTorch eager comparison (it needs torch and the checkpoint)",
    "threads": "onnxruntime intra-op threads (0: all cores)",
    "open_clip_config": "folder of extra open_clip model configs (JSON) for the eager column",
    "vocoder": "which of the bundle's vocoders plays, as the kiosk's engine_vocoder: auto = the "
    "light one when the full one would run on the CPU",
    "trt_cache": "TensorRT engine cache folder (default <bundle>/trt_cache); an empty one makes "
    "engine_load_s include the engine build",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.engine import DEFAULT_CHUNK_FRAMES, VOCODER_CHOICES

    parser.epilog = EPILOG
    parser.formatter_class = _HelpFormatter
    parser.add_argument("--bundle", type=Path, required=True, help=_HELP["bundle"])
    parser.add_argument("--repeats", type=int, default=10, help=_HELP["repeats"])
    parser.add_argument("--short", action="store_true", help=_HELP["short"])
    parser.add_argument("--providers", default=None, help=_HELP["providers"])
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help=_HELP["out"])
    parser.add_argument("--chunk-frames", type=int, default=DEFAULT_CHUNK_FRAMES,
                        help=_HELP["chunk_frames"])
    parser.add_argument("--no-eager", action="store_true", help=_HELP["no_eager"])
    parser.add_argument("--threads", type=int, default=0, help=_HELP["threads"])
    parser.add_argument("--open-clip-config", type=Path, action="append", default=[],
                        help=_HELP["open_clip_config"])
    parser.add_argument("--trt-cache", type=Path, default=None, help=_HELP["trt_cache"])
    parser.add_argument("--vocoder", choices=VOCODER_CHOICES, default="auto",
                        help=_HELP["vocoder"])
    parser.add_argument("--vocoders", type=Path, nargs="+", default=None, metavar="BUNDLE",
                        help="after the bench, compare --bundle's vocoder with these bundles' "
                        "(bench/vocoders.py: RTF on 1 and 2 threads, MCD vs --bundle's)")
    from bench.vocoders import add_arguments as add_vocoder_arguments

    add_vocoder_arguments(parser)


def run(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)])
    from bench.report import facts_table, table, write_csv, write_png
    from bench.runner import BenchConfig, run_benchmark
    from engine import EngineError

    if args.open_clip_config and not args.no_eager:
        from export.encoders import register_open_clip_configs

        register_open_clip_configs(args.open_clip_config)
    config = BenchConfig(bundle=args.bundle, repeats=2 if args.short else args.repeats,
                         providers=args.providers.split(",") if args.providers else None,
                         chunk_frames=args.chunk_frames, eager=not args.no_eager,
                         threads=args.threads, cache_dir=args.trt_cache, vocoder=args.vocoder)
    try:
        with console.status(f"benchmarking {args.bundle} ({config.repeats} repeats)"):
            result = run_benchmark(config)
    except EngineError as error:
        console.print(f"[red]bench failed:[/red] {error}")
        return 1
    console.print(table(result))
    console.print(facts_table(result))
    latency, summary = write_csv(result, args.out)
    png = write_png(result, args.out / "latency.png")
    console.print(f"wrote {latency}, {summary} and {png}")
    if args.vocoders:
        from bench.vocoders import parse_threads
        from bench.vocoders import run as compare_vocoders

        compare_vocoders([args.bundle, *args.vocoders], args.out, args.vocoder_mels,
                         parse_threads(args.vocoder_threads), args.chunk_frames,
                         config.repeats, args.vocoder_clips, console)
    return 0
