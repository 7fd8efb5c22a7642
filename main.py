#!/usr/bin/env python3
"""Art2Music Live — one entry point: the kiosk, and the train / export / eval / bench tools.

Each sub-command lives in its package's `cli` module (`add_arguments` + `run`). Only the chosen
sub-command's module is imported, so `main.py run` never loads PyTorch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("installation.app", "run the kiosk (camera, touch UI, audio); --demo without hardware"),
    "build-corpora": ("training.corpora.cli", "build the offline music and painting corpora"),
    "build-dataset": ("training.dataset.cli", "pair paintings and music by text similarity"),
    "train": ("training.cli", "train projector + BiLSTM decoder (paper defaults)"),
    "train-vocoder": ("training.vocoder.cli", "fine-tune HiFi-GAN on music Mels"),
    "distill-vocoder": ("training.vocoder.distill_cli",
                        "distil HiFi-GAN V1 into a lighter CPU vocoder (v1-k3)"),
    "eval": ("training.evaluation.cli", "MCD / LSD / FAD / cosine for the Table IV ablations"),
    "export": ("export.cli", "export checkpoints to a versioned ONNX model bundle"),
    "bench": ("bench.cli", "latency, real-time factor and memory of a bundle"),
    "index-collection": ("installation.index_collection",
                         "embed a folder of artworks for music -> artwork matching"),
    "match-art": ("installation.match_art", "which artworks of the collection fit a music file"),
    "install-service": ("installation.service_cli",
                        "start the kiosk at login and restart it on a crash (systemd / XDG)"),
    "soak": ("installation.soak_cli",
             "run the kiosk on a video for N minutes; report underflows, RSS growth, errors"),
}


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The CLI; only `command`'s module is imported to add its options."""
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary,
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
