"""`main.py export`: a training run → a versioned ONNX model bundle, parity-checked per graph.

Example::

    main.py export --checkpoint runs/paper --vocoder universal --out bundles/paper --fp16
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from export.errors import ExportError

LOG_WIDTH = 120
"""Console width when the output goes to a file or CI log (no terminal to measure)."""

_HELP = {
    "checkpoint": "training run directory (uses checkpoints/best, else last) or a .safetensors file",
    "vocoder": "HiFi-GAN: a generator.safetensors / vocoder run directory, 'universal' (the "
               "packaged speech-trained V1 weights) or 'griffin-lim' (no weights)",
    "out": "bundle directory to write (replaced atomically if it already holds a bundle)",
    "fp16": "store fp16 weights and allow TensorRT fp16 kernels for each graph where parity holds",
    "parity_tol": "largest max-abs error allowed between a graph and PyTorch (outputs are "
                  "bounded: unit embeddings, tanh Mel/audio, probabilities)",
    "captions": "captions for the prompt's caption index: a data set directory or a music corpus "
                "JSONL (default: the data set the run was trained on)",
    "caption_encoder": "sentence encoder that matches comments to captions (as the data set "
                       "builder did)",
    "feelings_head": "safetensors nn.Linear (weight [9, D], bias [9]) scoring ArtEmis emotions; "
                     "default: zero-shot prompts for CLIP, else the run's feelings.safetensors",
    "commentary_words": "curated word map of the art commentary (ImageNet classes → painting "
                        "words, look thresholds); default assets/data/painting_words.v1.json",
    "open_clip_config": "folder of extra open_clip model configs (JSON), e.g. a test model",
    "temperatures": "token decoder only: sampling temperature per codebook stage, comma "
                    "separated (e.g. 1.0,0.9); default: the ones the run was trained with",
    "guidance": "token decoder trained with --condition-dropout only: classifier-free guidance "
                "scale (1 = conditional alone; larger follows the painting and comment more "
                "closely); default: the run's own",
    "repeat": "token decoder with a tempo head (train --beat-clock) only: repetition-prior "
              "strength per codebook stage, comma separated (e.g. 3,2): the code chosen "
              "--repeat-beats beats earlier gets that much more log-weight, so pieces repeat "
              "at the beat; default: none",
    "repeat_beats": "lag of the repetition prior in beats of the predicted tempo (default 1)",
    "palette": "token decoder with a palette head (python -m training.palette_head) only: "
               "strength λ of the palette prior, stage 1 samples from p^(1/T)·q(c|image)^λ so "
               "the painting weights which sounds a piece draws from (e.g. 1.0); default 0: none",
    "primer_frames": "token decoder only: frames of the primer bank built from the run's data set "
                     "(training/primers.py): each piece starts from the state the first frames of "
                     "the clip of the painting's nearest training image leave (not played); "
                     "default 0: none",
}


def _numbers_in(what: str, example: str, low: float, high: float, single: bool = False):
    """An argparse type: comma-separated numbers (one when `single`) each in [low, high]."""

    def parse(text: str):
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"give {what} as numbers, e.g. {example} (got "
                                             f"{text!r})") from None
        if (single and len(values) != 1) or any(not low <= v <= high for v in values):
            count = "one number " if single else ""
            raise argparse.ArgumentTypeError(f"{what} must be {count}in [{low:g}, {high:g}], "
                                             f"got {text!r}")
        return values[0] if single else values

    return parse


_guidance = _numbers_in("the guidance scale", "2.0", 0.0, 10.0, single=True)
_temperatures = _numbers_in("temperatures", "1.0,0.9", 0.05, 5.0)
_repeat = _numbers_in("repetition strengths", "6,4", 0.0, 20.0)
_beats = _numbers_in("the lag in beats", "2", 0.25, 16.0, single=True)
_palette = _numbers_in("the palette strength", "1.0", 0.0, 10.0, single=True)


def _frames(text: str) -> int:
    """An argparse type: a whole number of primer frames in [0, 896]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give the primer frames as a whole number, e.g. 430 "
                                         f"(got {text!r})") from None
    if not 0 <= value <= 896:
        raise argparse.ArgumentTypeError(f"primer frames must be in [0, 896], got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from export.defaults import DEFAULT_CAPTION_ENCODER

    parser.add_argument("--checkpoint", type=Path, required=True, help=_HELP["checkpoint"])
    parser.add_argument("--vocoder", default="universal", help=_HELP["vocoder"])
    parser.add_argument("--out", type=Path, required=True, help=_HELP["out"])
    parser.add_argument("--fp16", action="store_true", help=_HELP["fp16"])
    parser.add_argument("--parity-tol", type=float, default=1e-3, help=_HELP["parity_tol"])
    parser.add_argument("--captions", type=Path, default=None, help=_HELP["captions"])
    parser.add_argument("--caption-encoder", default=DEFAULT_CAPTION_ENCODER,
                        help=_HELP["caption_encoder"])
    parser.add_argument("--feelings-head", type=Path, default=None, help=_HELP["feelings_head"])
    parser.add_argument("--commentary-words", type=Path, default=None,
                        help=_HELP["commentary_words"])
    parser.add_argument("--temperatures", type=_temperatures, default=None,
                        help=_HELP["temperatures"])
    parser.add_argument("--guidance", type=_guidance, default=None, help=_HELP["guidance"])
    parser.add_argument("--repeat", type=_repeat, default=(), help=_HELP["repeat"])
    parser.add_argument("--repeat-beats", type=_beats, default=1.0, help=_HELP["repeat_beats"])
    parser.add_argument("--palette", type=_palette, default=0.0, help=_HELP["palette"])
    parser.add_argument("--primer-frames", type=_frames, default=0, help=_HELP["primer_frames"])
    parser.add_argument("--open-clip-config", type=Path, action="append", default=[],
                        help=_HELP["open_clip_config"])


def _format_error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


def parity_table(result) -> Table:
    """One row per graph: stored precision, errors against PyTorch, size, export time."""
    tolerances = sorted({report.tolerance for report in result.reports})
    bound = ", ".join(f"{t:g}" for t in tolerances) or "—"
    table = Table(title=f"bundle {result.bundle} ({result.seconds:.1f} s); max abs error vs "
                        f"PyTorch, bound {bound}")
    for column in ("graph", "weights", "fp32 err", "fp16-weights err", "fp16-compute err",
                   "TRT fp16", "MB", "export s"):
        table.add_column(column, justify="left" if column == "graph" else "right")
    for report in result.reports:
        table.add_row(report.graph, report.weights, _format_error(report.fp32_error),
                      _format_error(report.fp16_weights_error),
                      _format_error(report.fp16_compute_error),
                      "yes" if report.fp16_compute else "no", f"{report.size_bytes / 1e6:.1f}",
                      f"{report.export_seconds:.1f}")
    return table


class _RichProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = None

    def step(self, description: str) -> None:
        self.finish()
        self._task = self._progress.add_task(description, total=1)

    def finish(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=1)


def run(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else LOG_WIDTH)
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)])
    from export.encoders import register_open_clip_configs
    from export.pipeline import ExportOptions, export_bundle

    register_open_clip_configs(args.open_clip_config)
    options = ExportOptions(
        checkpoint=args.checkpoint, out=args.out, vocoder=args.vocoder, fp16=args.fp16,
        parity_tol=args.parity_tol, captions=args.captions,
        caption_encoder=args.caption_encoder, feelings_head=args.feelings_head,
        commentary_words=args.commentary_words, temperatures=args.temperatures,
        guidance=args.guidance, repeat=args.repeat, repeat_beats=args.repeat_beats,
        palette=args.palette, primer_frames=args.primer_frames)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            hook = _RichProgress(progress)
            result = export_bundle(options, hook)
            hook.finish()
    except ExportError as error:
        console.print(f"[red]export failed:[/red] {error}")
        return 1
    console.print(parity_table(result))
    return 0
