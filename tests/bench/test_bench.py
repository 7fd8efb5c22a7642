"""`main.py bench --short` on the tiny bundle: table, CSVs and chart, engine next to eager."""

from __future__ import annotations

import argparse
import csv

from bench import cli


def test_short_bench_prints_its_table_and_writes_csv_and_png(tiny_bundle, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--bundle", str(tiny_bundle), "--short", "--providers", "cpu",
                              "--out", str(tmp_path), "--chunk-frames", "8"])
    assert cli.run(args) == 0
    printed = capsys.readouterr().out
    for text in ("Art2Music latency", "image → first block", "image → full piece",
                 "eager / engine", "real_time_factor"):
        assert text in printed
    rows = list(csv.DictReader((tmp_path / "latency.csv").open()))
    engine_stages = {r["stage"] for r in rows if r["backend"] == "engine"}
    assert {"image", "mel", "vocode first block", "image → full piece"} <= engine_stages
    eager = {r["stage"]: r for r in rows if r["backend"] == "eager"}
    assert {"image", "text", "mel"} <= set(eager)
    assert float(eager["mel"]["eager_over_engine"]) > 0
    summary = dict(csv.reader((tmp_path / "summary.csv").open()))
    assert float(summary["engine_peak_rss_mb"]) > 0
    assert float(summary["real_time_factor"]) > 0
    assert (tmp_path / "latency.png").stat().st_size > 1000
