"""`main.py bench --short` on the tiny bundle: table, CSVs and chart, engine next to eager."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from bench import cli


def _run(bundle: Path, out: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--bundle", str(bundle), "--short", "--providers", "cpu",
                              "--out", str(out), "--chunk-frames", "8", *extra])
    return cli.run(args)


def test_short_bench_prints_its_table_and_writes_csv_and_png(tiny_bundle, tmp_path, capsys):
    assert _run(tiny_bundle, tmp_path) == 0
    printed = capsys.readouterr().out
    for text in ("Art2Music latency", "image → first block", "image → full piece",
                 "eager / engine", "max |Δ| vs eager", "real_time_factor", "engine_peak_rss_mb",
                 "gpu_memory_mb", "trained (epoch 1, step 7)"):
        assert text in printed
    assert "UNTRAINED" not in printed
    rows = list(csv.DictReader((tmp_path / "latency.csv").open()))
    engine_stages = {r["stage"] for r in rows if r["backend"] == "engine"}
    assert {"image", "mel", "vocode first block", "image → first block",
            "image → full piece"} <= engine_stages
    assert all(int(r["repeats"]) == 2 for r in rows)
    eager = {r["stage"]: r for r in rows if r["backend"] == "eager"}
    assert {"image", "text", "mel"} <= set(eager)
    assert float(eager["mel"]["eager_over_engine"]) > 0
    # Same weights, same inputs: graph outputs agree (image also differs by PIL vs OpenCV resize).
    assert float(eager["text"]["max_abs_diff_vs_eager"]) < 1e-3
    assert float(eager["mel"]["max_abs_diff_vs_eager"]) < 1e-3
    assert float(eager["image"]["max_abs_diff_vs_eager"]) < 5e-3
    summary = dict(csv.reader((tmp_path / "summary.csv").open()))
    assert float(summary["engine_peak_rss_mb"]) > 0
    assert float(summary["real_time_factor"]) > 0
    assert (tmp_path / "latency.png").stat().st_size > 1000


def test_without_eager_the_table_still_prints(tiny_bundle, tmp_path, capsys):
    assert _run(tiny_bundle, tmp_path, "--no-eager") == 0
    printed = capsys.readouterr().out
    assert "image → full piece" in printed
    rows = list(csv.DictReader((tmp_path / "latency.csv").open()))
    assert {r["backend"] for r in rows} == {"engine"}


def test_help_explains_the_targets_and_the_untrained_vit_b_bundle():
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    text = parser.format_help()
    for phrase in ("python -m bench.untrained", "ViT-B-32", "UNTRAINED", "≤ 1.5 s",
                   "faster than real time", "2× PyTorch eager", "--short"):
        assert phrase in text, phrase


def test_a_sampling_bundle_is_timed_as_the_kiosk_streams_it(tiny_token_bundle, tmp_path):
    """The Mel made before the first block (decoder graph + the loudness gain's frames) is its
    own row; the whole Mel is still timed in one go for the one-pass sum."""
    assert _run(tiny_token_bundle, tmp_path, "--no-eager") == 0
    rows = {r["stage"]: r for r in csv.DictReader((tmp_path / "latency.csv").open())}
    assert {"mel", "mel before first block", "vocode first block", "image → first block",
            "image → full piece", "image+text+mel+vocode"} <= set(rows)
    assert all(float(rows[stage]["median_ms"]) > 0 for stage in rows)
