"""bench/vocoders.py on the tiny bundle and its int8 copy: one run, both vocoders, speed and
quality side by side, printed and written as CSV + PNG; `main.py bench --vocoders`."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest

from bench import cli
from bench.vocoders import main, parse_threads, run
from export.quantize_vocoder import QuantizeOptions, quantize_vocoder


@pytest.fixture(scope="module")
def music(example_music: Path) -> Path:
    return example_music


@pytest.fixture(scope="module")
def int8_bundle(tiny_bundle, music, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("int8") / "tiny-int8"
    quantize_vocoder(QuantizeOptions(tiny_bundle, music, out, windows=4, check_clips=1))
    return out


def test_table_compares_both_vocoders_against_the_first(tiny_bundle, int8_bundle, music,
                                                        tmp_path, capsys):
    rows = run([tiny_bundle, int8_bundle], tmp_path, music, threads=(1, 2), chunk_frames=16,
               repeats=1, count=2)
    assert [(r.vocoder, r.threads) for r in rows] == [
        ("hifigan-tiny", 1), ("hifigan-tiny", 2), ("hifigan-tiny-int8", 1),
        ("hifigan-tiny-int8", 2)]
    assert all(r.one_pass_rtf > 0 and r.streamed_rtf > 0 and r.mels == 2 for r in rows)
    reference, same, int8 = rows[0], rows[1], rows[2]
    assert reference.mcd_db_vs_reference == 0 and reference.mel_l1_vs_reference == 0
    assert same.mcd_db_vs_reference < 1e-3  # same graph on two threads: same audio
    assert 0 < int8.mcd_db_vs_reference < 0.25  # another graph; tiny int8: ~0.05 dB
    assert int8.weights == "int8" and reference.weights in ("fp16", "fp32")
    assert reference.mcd_db_vs_input > 0
    printed = capsys.readouterr().out
    assert "hifigan-tiny-int8" in printed and "MCD vs ref" in printed
    written = list(csv.DictReader((tmp_path / "vocoders.csv").open()))
    assert [row["vocoder"] for row in written] == [r.vocoder for r in rows]
    assert float(written[2]["mcd_db_vs_reference"]) == pytest.approx(int8.mcd_db_vs_reference)
    for png in ("vocoders.png", "vocoders_spectrograms.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_main_bench_runs_the_comparison_after_the_bench(tiny_bundle, int8_bundle, music,
                                                        tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--bundle", str(tiny_bundle), "--short", "--providers", "cpu",
                              "--no-eager", "--out", str(tmp_path), "--chunk-frames", "16",
                              "--vocoders", str(int8_bundle), "--vocoder-mels", str(music),
                              "--vocoder-threads", "1", "--vocoder-clips", "1"])
    assert cli.run(args) == 0
    written = list(csv.DictReader((tmp_path / "vocoders.csv").open()))
    assert [row["vocoder"] for row in written] == ["hifigan-tiny", "hifigan-tiny-int8"]
    assert (tmp_path / "latency.csv").is_file()


def test_standalone_module_and_thread_parsing(tiny_bundle, music, tmp_path):
    assert main(["--bundle", str(tiny_bundle), "--out", str(tmp_path), "--repeats", "1",
                 "--chunk-frames", "16", "--vocoder-mels", str(music), "--vocoder-threads",
                 "1", "--vocoder-clips", "1"]) == 0
    assert len(list(csv.DictReader((tmp_path / "vocoders.csv").open()))) == 1
    assert parse_threads("1, 2") == (1, 2)
    with pytest.raises(argparse.ArgumentTypeError, match="positive"):
        parse_threads("0")
