"""Command line: ``python -m training.corpora build --out data/corpora [--max-clips N]``.

``add_arguments(parser)`` and ``run(args)`` let ``main.py build-corpora`` reuse the same options.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from training.corpora.build import build_corpora
from training.corpora.config import CorporaConfig

DEFAULTS = CorporaConfig()


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the corpora build options to `parser` (a sub-command parser works too)."""
    parser.add_argument("--out", type=Path, default=DEFAULTS.out,
                        help="output folder (default: data/corpora)")
    parser.add_argument("--max-clips", type=int, default=None,
                        help="cap every music and image count at N (quick runs)")
    parser.add_argument("--recorded-clips", type=int, default=DEFAULTS.recorded_clips,
                        help="clips cut from the Debian soundtracks")
    parser.add_argument("--procedural-clips", type=int, default=DEFAULTS.procedural_clips,
                        help="procedurally composed and rendered clips")
    parser.add_argument("--painterly-images", type=int, default=DEFAULTS.painterly_images,
                        help="generated painterly images")
    parser.add_argument("--comments-per-image", type=int, default=DEFAULTS.painterly_comments,
                        help="comments per generated image or portrait")
    parser.add_argument("--portraits", type=int, default=DEFAULTS.portraits,
                        help="Wesnoth portraits (0 to skip wesnoth-1.16-data)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--no-install", action="store_true",
                        help="never call apt-get; a source whose Debian packages are missing "
                             "then fails the build (or is left out with --allow-partial)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="exit 0 even when a requested source came out empty or under "
                             "80 %% of its size (e.g. missing Debian packages); by default "
                             "build-corpora then exits 1 naming the source, its packages and "
                             "the apt-get command")
    parser.add_argument("--no-artworks", action="store_true",
                        help="do not refresh assets/artworks/")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip measuring the rendered procedural clips")
    return parser


def config_from_args(args: argparse.Namespace) -> CorporaConfig:
    return CorporaConfig(
        out=args.out,
        recorded_clips=args.recorded_clips,
        procedural_clips=args.procedural_clips,
        painterly_images=args.painterly_images,
        painterly_comments=args.comments_per_image,
        portraits=args.portraits,
        seed=args.seed,
        install=not args.no_install,
        export_artworks=not args.no_artworks,
        verify_procedural=not args.no_verify,
    ).capped(args.max_clips)


def run(args: argparse.Namespace) -> int:
    """Builds the corpora; prints the main counts; returns a process exit code."""
    summary = build_corpora(config_from_args(args))
    brief = {
        "music_clips": summary["music"]["clips"],
        "music_minutes": summary["music"]["minutes"],
        "painting_comments": summary["paintings"]["comments"],
        "painting_images": summary["paintings"]["images"],
        "seconds": summary["total_seconds"],
        "problems": summary["problems"],
        "shortfalls": summary["shortfalls"],
    }
    print(json.dumps(brief, indent=2))
    print(f"Summary written to {Path(args.out) / 'summary.json'}.")
    if not summary["music"]["clips"] or not summary["paintings"]["comments"]:
        print("error: a corpus came out empty; see the problems above.", file=sys.stderr)
        return 1
    label = "warning" if args.allow_partial else "error"
    for line in summary["shortfalls"]:
        print(f"build-corpora: {label}: {line}", file=sys.stderr)
    return 1 if summary["shortfalls"] and not args.allow_partial else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.corpora",
                                     description="Builds the offline music and painting corpora.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_arguments(commands.add_parser("build", help="build (or resume) the corpora"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(args)
