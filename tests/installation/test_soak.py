"""`main.py soak`: the real kiosk (real engine on the tiny bundle, offscreen Qt, the silent output
paced in real time) on a generated video with comments; the report's numbers are checked
against what can be measured independently (the log file, the clock, the video)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from PyQt6.QtGui import QImage

from installation.soak import LogCounter
from installation.soak_report import (
    MAX_RSS_GROWTH_MB,
    Sample,
    SoakReport,
    rss_mb,
    rss_summary,
    verdict,
)

REPO = Path(__file__).resolve().parents[2]


def soak(tmp_path: Path, *options: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "OMP_NUM_THREADS": "1", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    return subprocess.run([sys.executable, "main.py", "soak", "--out", str(tmp_path / "out"),
                           *options], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_a_short_soak_reports_real_numbers(tmp_path, tiny_bundle):
    result = soak(tmp_path, "--minutes", "0.35", "--bundle", str(tiny_bundle),
                  "--comment-every", "4", "--hold-seconds", "5")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    report = json.loads((out / "soak.json").read_text(encoding="utf-8"))

    assert 20.0 <= report["seconds_run"] <= 30.0
    assert report["pieces_played"] > 0 and report["pieces_composed"] > 0
    assert report["comments_sent"] >= 1
    # the audio callback ran in real time for the whole soak (the silent output paces it)
    expected_blocks = report["seconds_run"] * report["sample_rate"] / report["block_size"]
    assert 0.8 * expected_blocks <= report["blocks_rendered"] <= 1.2 * expected_blocks
    rss = report["rss_mb"]
    assert 50 < rss["start"] <= rss["peak"] < 4000 and 50 < rss["end"] <= rss["peak"]
    assert rss["growth_after_warmup"] == pytest.approx(rss["end"] - rss["after_warmup"], abs=0.11)
    assert rss["slope_mb_per_hour"] is None  # 20 s say nothing about a leak
    samples = report["samples"]
    assert abs(len(samples) - report["seconds_run"]) <= 3  # one a second
    assert all(s["rss_mb"] > 50 for s in samples)
    assert [s["seconds"] for s in samples] == sorted(s["seconds"] for s in samples)
    assert samples[-1]["pieces_played"] == report["pieces_played"]
    assert samples[-1]["underflow_blocks"] == report["underflow_blocks"] >= 0

    # the log counts match the kiosk's own log file
    log = (out / "logs" / "kiosk.log").read_text(encoding="utf-8")
    assert report["log_errors"] == len(re.findall(r"^\S+ \S+ ERROR ", log, re.MULTILINE))
    assert report["log_warnings"] == len(re.findall(r"^\S+ \S+ WARNING ", log, re.MULTILINE))
    assert len(re.findall(r"Now playing piece \d+", log)) >= report["pieces_played"]
    assert "Watchdog on: the UI and audio threads" in log

    assert report["verdict"]["checks"]["pieces_played"] is True
    assert ("PASSED" in result.stdout) == report["verdict"]["passed"]
    assert "pieces played" in result.stdout and str(out / "soak.json") in result.stdout

    image = QImage(str(out / "soak.png"))
    assert (image.width(), image.height()) == (900, 600)
    artworks = int(re.search(r"Soak video \S+: (\d+) artworks, 5 s each", log).group(1))
    video = cv2.VideoCapture(report["video"])
    frames = video.get(cv2.CAP_PROP_FRAME_COUNT)
    video.release()
    assert frames == round(artworks * (2.5 + 1 + 5) * 10)  # gap, carried in, held; at 10 fps


def test_strict_soak_fails_when_no_piece_played(tmp_path, tiny_bundle):
    """3 s is too short for a painting to be carried in and held still: nothing plays."""
    result = soak(tmp_path, "--minutes", "0.05", "--bundle", str(tiny_bundle),
                  "--hold-seconds", "2", "--strict")
    assert result.returncode == 1, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "soak.json").read_text(encoding="utf-8"))
    assert report["pieces_played"] == 0 and report["comments_sent"] == 0, report
    assert report["verdict"]["passed"] is False
    assert report["verdict"]["checks"] == {"pieces_played": False, "no_underflow": True,
                                           "rss_growth_under_50_mb": True, "no_log_error": True,
                                           "no_freeze": True}, report
    assert "FAILED: pieces_played" in result.stdout


@pytest.mark.parametrize("options, message", [
    (["--minutes", "0"], "--minutes must be above 0"),
    (["--comment-every", "0.1"], "--comment-every must be between 1 and 3600"),
    (["--video", "/nonexistent/visit.mp4"], "The video /nonexistent/visit.mp4 does not exist"),
    (["--bundle", "/nonexistent/bundle"], "The model bundle /nonexistent/bundle does not exist"),
])
def test_bad_options_are_refused_before_anything_runs(tmp_path, options, message):
    result = soak(tmp_path, *options, timeout=60)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_rss_growth_is_measured_from_the_first_piece_played():
    samples = [Sample(t, rss, 0, 0, 0, played, 0) for t, rss, played in
               [(0, 100, 0), (1, 300, 0), (2, 350, 1), (900, 360, 40), (1800, 420, 80)]]
    summary = rss_summary(samples)
    assert summary["start"] == 100 and summary["after_warmup"] == 350
    assert summary["warmup_seconds"] == 2 and summary["peak"] == 420
    assert summary["growth_after_warmup"] == 70 and summary["growth_total"] == 320
    assert summary["slope_mb_per_hour"] == pytest.approx(140, rel=0.2)


def test_the_verdict_names_each_failed_criterion():
    def report(**changes) -> SoakReport:
        values = dict(minutes_requested=1, seconds_run=60, bundle="b", video="v",
                      audio_output="o", sample_rate=22050, block_size=1024, comments_sent=3,
                      pieces_composed=4, pieces_played=4, underflow_blocks=0,
                      device_underruns=0, blocks_rendered=1292, render_errors=0,
                      log_warnings=2, log_errors=0, first_errors=[], freezes=[],
                      rss_mb={"growth_after_warmup": 3.0})
        values.update(changes)
        return SoakReport(**values)

    assert verdict(report())["passed"]
    failed = verdict(report(underflow_blocks=2, rss_mb={"growth_after_warmup": MAX_RSS_GROWTH_MB},
                            log_errors=1, freezes=["UI thread silent 21.0 s"], pieces_played=0))
    assert not failed["passed"]
    assert not any(failed["checks"].values())


def test_log_counter_counts_real_log_records():
    counter = LogCounter()
    logger = logging.getLogger("soak-test")
    logger.addHandler(counter)
    try:
        logger.warning("a warning")
        logger.error("an error %d", 1)
        logger.info("not counted")
    finally:
        logger.removeHandler(counter)
    assert (counter.warnings, counter.errors) == (1, 1)
    assert counter.first_errors == ["soak-test: an error 1"]


def test_rss_reads_this_process():
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        vm_rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert rss_mb() == pytest.approx(vm_rss / 1024, rel=0.1)
