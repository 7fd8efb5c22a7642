"""The build-dataset command: options with help text, a real run, and one-line user errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from training.dataset import cli
from training.dataset.sentence_encoder import PACKAGED_MINILM, load_sentence_encoder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def minilm():
    return load_sentence_encoder(PACKAGED_MINILM)  # the CLI then reuses this loaded model


def parse(argv: list[str]) -> argparse.Namespace:
    return cli.add_arguments(argparse.ArgumentParser()).parse_args(argv)


def test_every_option_has_help_text():
    parser = cli.add_arguments(argparse.ArgumentParser())
    options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert {o for a in options for o in a.option_strings} >= {
        "--paintings", "--music", "--out", "--encoder", "--seed", "--batch-size", "--limit",
        "--matches-per-row", "--min-similarity"}
    assert all(action.help for action in options)


def test_module_runs_on_its_own():
    result = subprocess.run([sys.executable, "-m", "training.dataset.cli", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--paintings" in result.stdout


def test_cli_builds_a_data_set(tmp_path, minilm, capsys):
    sr = 22050
    tone = 0.3 * np.sin(2 * np.pi * 330 * np.arange(sr) / sr)
    music, paintings = [], []
    for i, caption in enumerate(["A sad, slow piano ballad.", "A joyful, festive dance tune."]):
        sf.write(tmp_path / f"c{i}.wav", tone.astype(np.float32), sr)
        music.append({"audio_path": f"c{i}.wav", "caption": caption})
    for i, comment in enumerate(["So sad and lonely.", "Happy dancing people!", "Unused."]):
        (tmp_path / f"a{i}.png").write_bytes(b"png")
        paintings.append({"image_path": f"a{i}.png", "comment": comment})
    for name, rows in (("p.jsonl", paintings), ("m.jsonl", music)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))

    code = cli.run(parse(["--paintings", str(tmp_path / "p.jsonl"), "--music",
                          str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "ds"),
                          "--limit", "2", "--seed", "1", "--no-progress"]))
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 2 and summary["encoder"] == PACKAGED_MINILM
    rows = [json.loads(line) for line in (tmp_path / "ds" / "manifest.jsonl").open()]
    assert [r["caption"] for r in rows] == [m["caption"] for m in music]


def test_user_errors_print_one_line_and_return_2(tmp_path, capsys):
    code = cli.run(parse(["--paintings", str(tmp_path / "missing.jsonl"), "--music",
                          str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "ds")]))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("build-dataset: error: corpus file") and err.count("\n") == 1
    assert cli.run(parse(["--paintings", "p", "--music", "m", "--out", "o",
                          "--batch-size", "0"])) == 2


def test_top_k_options_reach_the_build_config():
    base = ["--paintings", "p", "--music", "m", "--out", "o"]
    assert cli.config_from_args(parse(base)).matches_per_row == 1  # the paper's argmax
    config = cli.config_from_args(parse([*base, "--matches-per-row", "8",
                                         "--min-similarity", "0.3"]))
    assert (config.matches_per_row, config.min_similarity) == (8, 0.3)


@pytest.mark.parametrize("option", [["--matches-per-row", "0"], ["--min-similarity", "1.5"]])
def test_bad_top_k_options_are_one_line_errors(option, capsys):
    assert cli.run(parse(["--paintings", "p", "--music", "m", "--out", "o", *option])) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"build-dataset: error: {option[0]}") and err.count("\n") == 1
