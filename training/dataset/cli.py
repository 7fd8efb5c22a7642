"""``main.py build-dataset``: builds the weakly aligned data set of Sec. III.A.2–4.

The lead's ``main.py`` calls :func:`add_arguments` on its sub-parser and :func:`run` with the
parsed arguments; ``python -m training.dataset.cli`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from training.dataset.builder import DatasetBuildConfig, build_dataset
from training.dataset.errors import DatasetError
from training.dataset.sentence_encoder import PACKAGED_MINILM


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the build-dataset options to a (sub-)parser."""
    parser.add_argument("--paintings", type=Path, required=True,
                        help="paintings JSONL: image_path, comment, optional emotion and id")
    parser.add_argument("--music", type=Path, required=True,
                        help="music JSONL: audio_path, caption, optional offset, labels, "
                             "keywords, id, licence")
    parser.add_argument("--out", type=Path, required=True,
                        help="data set folder to write (manifest.jsonl, mels/, similarity.png); "
                             "rerunning into it resumes")
    parser.add_argument("--encoder", default=PACKAGED_MINILM,
                        help="sentence-transformers model name or folder used for matching "
                             f"(default: the packaged MiniLM, {PACKAGED_MINILM})")
    parser.add_argument("--device", default=None,
                        help="torch device for the encoder, e.g. cpu or cuda (default: automatic)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the deterministic 8:1:1 train/val/test split (default: 0)")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="texts per encoder batch (default: 64)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N comments of the paintings corpus, "
                             "for quick trials (default: all)")
    parser.add_argument("--matches-per-row", type=int, default=1, metavar="K",
                        help="captions paired with each comment, best first: K > 1 writes K "
                             "manifest rows <id>-m0 … <id>-m<K-1> per comment, each with its own "
                             "clip, Mel and prompt, all in the painting's split, so far more "
                             "clips become targets (default: 1, the paper's argmax)")
    parser.add_argument("--min-similarity", type=float, default=None, metavar="S",
                        help="with --matches-per-row, drop matches after the best one whose "
                             "cosine similarity is below S (default: keep all K)")
    parser.add_argument("--no-analysis", action="store_true",
                        help="skip the keyword feeling analysis and the polarity heatmap "
                             "(Sec. III.A.4)")
    parser.add_argument("--no-progress", action="store_true",
                        help="hide the progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> DatasetBuildConfig:
    """The build config the parsed options describe."""
    if args.batch_size < 1:
        raise DatasetError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if args.limit is not None and args.limit < 1:
        raise DatasetError(f"--limit must be at least 1, got {args.limit}.")
    if args.matches_per_row < 1:
        raise DatasetError(f"--matches-per-row must be at least 1, got {args.matches_per_row}.")
    if args.min_similarity is not None and not -1.0 <= args.min_similarity <= 1.0:
        raise DatasetError("--min-similarity is a cosine similarity in [-1, 1], "
                           f"got {args.min_similarity}.")
    return DatasetBuildConfig(
        paintings=args.paintings,
        music=args.music,
        out=args.out,
        encoder=args.encoder,
        device=args.device,
        seed=args.seed,
        batch_size=args.batch_size,
        limit=args.limit,
        matches_per_row=args.matches_per_row,
        min_similarity=args.min_similarity,
        feeling_analysis=not args.no_analysis,
        progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    """Builds the data set, prints the summary as JSON; returns 0, or 2 after a user error."""
    try:
        summary = build_dataset(config_from_args(args))
    except DatasetError as exc:
        print(f"build-dataset: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m training.dataset.cli --paintings ...``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="build-dataset", description=__doc__.splitlines()[0])
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
