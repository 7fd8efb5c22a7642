"""``main.py match-art music.wav``: which artworks of the collection fit a piece of music.

    python main.py match-art song.ogg                          # assets/artworks/index.npz
    python main.py match-art song.wav --index /gallery/index.npz --top 3

The file's most salient window (seed 004's chorus search: mean RMS × mean spectral contrast,
core/highlight.py) goes through the bundle's music encoder; artworks are ranked by cosine in
the shared feeling space (engine/retrieval.py). Files longer than ``--max-seconds`` are searched
in their beginning only (said so); empty, silent or non-audio files get one sentence and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from installation.config import REPO_ROOT

DEFAULT_BUNDLE = REPO_ROOT / "assets" / "bundle"
DEFAULT_INDEX = REPO_ROOT / "assets" / "artworks" / "index.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from core.music_input import MAX_SECONDS

    parser.add_argument("music", type=Path, help="audio file (WAV, FLAC, OGG, MP3)")
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX,
                        help="collection index of main.py index-collection")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="model bundle")
    parser.add_argument("--top", type=int, default=5, help="how many artworks to print")
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                        help="longer files are searched in their first this-many seconds")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def run(args: argparse.Namespace) -> int:
    from core.music_input import MusicFileError, read_music
    from engine import EngineError
    from engine.collection import CollectionIndex
    from engine.retrieval import MusicRetrieval

    try:
        retrieval = MusicRetrieval.load(args.bundle)
        index = CollectionIndex.load(args.index)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        music = read_music(args.music, retrieval.sample_rate, args.max_seconds)
    except MusicFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if music.capped:
        print(f"note: {args.music} is {_clock(music.duration)} long; its highlight is looked "
              f"for in the first {_clock(args.max_seconds)} only (--max-seconds).")
    try:
        query = retrieval.embed_audio(music.audio, music.sample_rate)
        matches = retrieval.match(query.embedding, index, top_k=args.top)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    start, end = query.window_seconds
    print(f"{args.music}: highlight {_clock(start)}–{_clock(end)} of {_clock(music.duration)}; "
          f"top {len(matches)} of {len(index)} artworks:")
    for match in matches:
        who = f" — {match.artist}" if match.artist else ""
        feelings = ", ".join(match.feelings) or "no feelings"
        print(f"{match.rank:>3}. {match.score:+.3f}  {match.title}{who}  [{feelings}]")
    return 0
