"""`main.py export` end to end: the Griffin-Lim bundle, its parity table, and failures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from export import cli
from tests.conftest import FIXTURES
from tests.export.bundle_fixture import TINY_AUDIO, write_captions


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def _export(run: Path, out: Path, *extra: str) -> int:
    captions = write_captions(out.parent / "music.jsonl")
    return cli.run(_args("--checkpoint", str(run), "--out", str(out), "--vocoder", "griffin-lim",
                         "--captions", str(captions), "--caption-encoder", "open_clip:tiny-ViT",
                         "--open-clip-config", str(FIXTURES / "open_clip"), *extra))


def test_export_cli_writes_a_griffin_lim_bundle_that_the_engine_plays(tiny_run_dir, tmp_path,
                                                                      capsys):
    from engine import Engine

    out = tmp_path / "bundle"
    assert _export(tiny_run_dir, out) == 0
    printed = capsys.readouterr().out
    for graph in ("image_encoder", "text_encoder", "decoder", "feelings"):
        assert graph in printed
    assert "fp32 err" in printed and "max abs error vs" in printed  # parity printed per graph
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["vocoder"] == {"name": "griffin_lim", "graph": None, "context_frames": 8,
                                   "config": {"n_iter": 32}}
    assert "vocoder" not in manifest["graphs"]
    assert {g["weights"] for g in manifest["graphs"].values()} == {"fp32"}

    engine = Engine.load(out, providers=["cpu"])
    piece = engine.compose(np.full((40, 60, 3), 120, np.uint8), "a quiet blue evening")
    audio = piece.audio()
    assert audio.shape == (TINY_AUDIO.frames * TINY_AUDIO.hop_length,)
    assert np.isfinite(audio).all()


def test_export_cli_fails_cleanly_when_parity_cannot_hold(tiny_run_dir, tmp_path, capsys):
    out = tmp_path / "bundle"
    assert _export(tiny_run_dir, out, "--parity-tol", "-1") == 1
    assert "export failed" in capsys.readouterr().out
    assert not out.exists()
    assert not list(tmp_path.glob(".bundle.partial-*"))
