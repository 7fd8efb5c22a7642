"""What the kiosk really plays, heard through a real sound server (issue 10, item 4).

A private PulseAudio runs a null sink in the player's own format (float32, 22 050 Hz, mono:
nothing is resampled); the kiosk's AudioPlayer plays into it through its real sounddevice
OutputStream on the system default device (ALSA's pulse plugin), and parec records the sink's
monitor. A visit: a piece from the shipped bundle, written as the composer writes it
(``begin_piece(total_samples=...)`` and ``PieceWriter.write``, pre-roll gate included), a second
piece crossfading in, then the visitor leaves (``fade_out``). The recording must be exactly

    volume · (A·1 | A·cos + B·sin | B·1 | B·cos | 0)

sample for sample, with the equal-power ramps of installation/mixer.py: no gap, no click, no
missing fade. Once on a quiet machine, once with the first piece generated live by the engine's
vocoder while two busy processes hold the CPU. A dropout at the server while the mixer played
every block in time (the OS ran the audio thread too late) is retried once, and printed.
Skipped where PulseAudio is not installed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from installation.audio_player import AudioPlayer, AudioState, NullAudioSink
from installation.config import REPO_ROOT, AudioOutputConfig, KioskConfig
from installation.mixer import MixerStats, Piece
from tests.installation.helpers import artwork
from tests.installation.pulse_helpers import (
    PulseServer,
    busy_processes,
    equal_power,
    find_offset,
    missing_reason,
    refresh_portaudio,
    zero_runs,
)

SR = 22050
BLOCK = 1024
"""Samples per audio callback (AudioOutputConfig.block_size): commands act on these bounds."""
VOLUME = 0.4
"""The stated gain. Low enough that the limiter stays out of the way (checked per piece)."""
LIMIT = 0.89
CROSSFADE_S = 0.4
FADE_OUT_S = 0.5
CLIP_S = 2.5
"""Seconds of each piece played (its first Mel frames, vocoded as the kiosk streams them)."""
SWITCH_AFTER_S = 0.5
"""The second piece begins once this much of the first has been played..."""
LEAVE_AFTER_S = 0.8
"""...and the visitor leaves once this much of the second has been played."""
TOLERANCE = 1e-6
"""Max abs difference allowed: float32 rounding of the mixer's ramps and volume (~6e-8 here).
A gap, a shifted block or a missing ramp differs by 1e-3 or more."""



@pytest.fixture(scope="module")
def pulse():
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = PulseServer.start(sample_rate=SR)
    try:
        with pytest.MonkeyPatch.context() as patch:
            server.use_here(patch)
            yield server
    finally:
        server.stop()
        refresh_portaudio()


@pytest.fixture(scope="module")
def pieces():
    """Two pieces of the shipped bundle (two paintings), cut to their first CLIP_S seconds of
    Mel; `audio` is what `playback_blocks` gives (the vocoder's blocks × the loudness gain)."""
    from engine import Engine
    from engine.growing_mel import GrowingMel

    engine = Engine.load(REPO_ROOT / KioskConfig().bundle, providers=["cpu"], warmup=False)
    frames = round(CLIP_S * SR / engine.audio.hop_length)
    result = []
    for seed in (1, 2):
        reading = engine.describe(np.ascontiguousarray(artwork(seed)[:, :, ::-1]))
        piece = engine.compose(reading, target_dbfs=KioskConfig().audio.loudness_target_dbfs,
                               seed=seed)
        mel = (piece.mel.until(frames) if isinstance(piece.mel, GrowingMel) else piece.mel)
        piece = dataclasses.replace(piece, mel=np.ascontiguousarray(mel[:, :frames]))
        audio = piece.playback_audio()
        # limiter off the path: equal-power sums stay under its knee (0.8 · limit)
        assert np.sqrt(2) * VOLUME * np.abs(audio).max() < 0.8 * LIMIT
        result.append((piece, audio))
    return result


@dataclass
class Visit:
    """What one visit played and what the server heard."""

    recording: np.ndarray
    first: np.ndarray
    """The first piece as written to the player (all its chunks joined)."""
    second: np.ndarray
    first_piece: Piece
    second_piece: Piece
    stats: MixerStats
    state: str


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting until {what}")
        time.sleep(0.005)


def visit(server: PulseServer | None, path: Path, first_chunks: Iterable[np.ndarray],
          first_total: int, second: np.ndarray, timeout_s: float = 60.0) -> Visit:
    """Plays a visit through the kiosk's AudioPlayer on the default device, recording the sink:
    the first piece streamed by a producer thread as the composer does, the second written
    whole once SWITCH_AFTER_S of the first has played, the fade-out LEAVE_AFTER_S later.
    Without a `server`, on the silent stand-in output at real-time pace, recording its blocks."""
    config = AudioOutputConfig(device="" if server else "none", crossfade_seconds=CROSSFADE_S,
                               fade_out_seconds=FADE_OUT_S, volume=VOLUME, limit=LIMIT,
                               block_size=BLOCK)
    player = AudioPlayer(config, SR, record=server is None)
    recorder = server.recorder(path) if server else None
    written: list[np.ndarray] = []
    player.start()
    output = player.output
    try:
        if recorder is not None:
            assert player.state == AudioState.DEVICE, "the player did not open the server"
            recorder.start()  # after the stream: the sink is running, its monitor sends now
        time.sleep(0.2)
        writer = player.begin_piece(total_samples=first_total, requested_at=time.monotonic())

        def produce() -> None:
            for chunk in first_chunks:
                chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
                written.append(chunk)
                if not writer.write(chunk):
                    return
            writer.finish()

        producer = threading.Thread(target=produce, name="test-composer", daemon=True)
        producer.start()
        first = writer.piece
        wait_for(lambda: first.played >= SWITCH_AFTER_S * SR, timeout_s,
                 f"{SWITCH_AFTER_S} s of the first piece had played")
        second_writer = player.begin_piece(total_samples=second.size)
        second_writer.write(second)
        second_writer.finish()
        wait_for(lambda: second_writer.piece.played >= LEAVE_AFTER_S * SR, timeout_s,
                 f"{LEAVE_AFTER_S} s of the second piece had played")
        player.fade_out()
        wait_for(lambda: second_writer.piece.finished and first.finished, timeout_s,
                 "both pieces had faded out")
        time.sleep(1.0)  # the output latency (up to ~0.6 s): the end of the fade, silence after
        producer.join(timeout_s)
        state = player.state
    finally:
        recording = recorder.stop() if recorder else None
        player.close()
    if recording is None:
        assert isinstance(output, NullAudioSink)
        recording = output.recorded()
    return Visit(recording, np.concatenate(written), second, first, second_writer.piece,
                 player.mixer.stats, state)


@dataclass
class Heard:
    """The recording against the model, with the numbers the report quotes."""

    max_abs_diff: float
    diff_by_part: dict[str, float]
    gaps: list[tuple[int, int]]
    """(start, samples) runs of exact silence between the first sound and the fade's end."""
    first_start: int
    crossfade_start: int
    fade_start: int
    heard_samples: int
    mismatched: int
    """Samples that differ by more than TOLERANCE."""
    first_mismatch: int | None
    """The first of them, counted from the first sound (None: none)."""


def expected_and_compare(v: Visit) -> Heard:
    """Finds where each event happened in the recording (the first piece and the second by
    cross-correlation, the fade-out among the callback bounds) and compares it with the model
    in the module docstring, from 0.25 s before the first sound to 0.25 s after the fade."""
    rec = v.recording.astype(np.float64)
    a = VOLUME * v.first.astype(np.float64)
    b = VOLUME * v.second.astype(np.float64)
    lx, lf = round(CROSSFADE_S * SR), round(FADE_OUT_S * SR)
    half = SR // 2
    a0 = find_offset(rec, a[:half])
    s = find_offset(rec, b[lx:lx + half]) - lx
    assert a0 < s and s - a0 + lx <= a.size, "the second piece did not start while the first played"
    fall, rise = equal_power(lx)
    out, inn = equal_power(lf)

    def model(f: int) -> np.ndarray:
        expected = np.zeros(rec.size)
        expected[a0:s] = a[: s - a0]
        expected[s:s + lx] = a[s - a0:s - a0 + lx] * fall + b[:lx] * rise
        expected[s + lx:f] = b[lx:f - s]
        expected[f:f + lf] = b[f - s:f - s + lf] * out
        return expected

    candidates = [s + m * BLOCK for m in range(-(-lx // BLOCK), (b.size - lf) // BLOCK + 1)]
    candidates = [f for f in candidates if f + lf + SR // 4 <= rec.size]
    assert candidates, "the recording ends before the fade-out does"
    window = slice(s + lx, None)
    f = min(candidates, key=lambda f: np.abs(rec[window] - model(f)[window]).max())
    expected = model(f)
    lo, hi = max(0, a0 - SR // 4), f + lf + SR // 4
    parts = {"before": (lo, a0), "first": (a0, s), "crossfade": (s, s + lx),
             "second": (s + lx, f), "fade-out": (f, f + lf), "after": (f + lf, hi)}
    diff = {name: float(np.abs(rec[i:j] - expected[i:j]).max()) for name, (i, j) in parts.items()}
    wrong = np.flatnonzero(np.abs(rec[lo:hi] - expected[lo:hi]) > TOLERANCE) + lo - a0
    return Heard(max(diff.values()), diff, zero_runs(v.recording[a0:f + lf]), a0, s, f, hi - lo,
                 int(wrong.size), int(wrong[0]) if wrong.size else None)


def report(title: str, v: Visit, heard: Heard) -> str:
    parts = ", ".join(f"{name} {value:.1e}" for name, value in heard.diff_by_part.items())
    gate = v.first_piece.gate
    opened = ("" if gate is None or gate.rate_at_open is None else
              f"; gate opened at {gate.rate_at_open:.2f}x real time with "
              f"{gate.buffered_at_open:.2f} s buffered")
    return (f"{title}: {heard.heard_samples / SR:.2f} s compared, max abs diff "
            f"{heard.max_abs_diff:.1e} ({parts}); gaps {len(heard.gaps)}; underflow blocks "
            f"{v.stats.underflows}; dry fades {v.first_piece.dry_fades + v.second_piece.dry_fades}"
            f"; device flags {v.stats.device_status_flags}{opened}; samples off "
            f"{heard.mismatched} (first at {heard.first_mismatch}; pieces at {heard.first_start}, "
            f"{heard.crossfade_start}, fade at {heard.fade_start})")


def check(v: Visit, heard: Heard, summary: str, keep: Path | None = None) -> None:
    """Asserts a gapless, exact visit; on failure the recording is kept as `keep` (.npy)."""
    ok = (not heard.gaps and v.stats.underflows == 0 and v.stats.render_errors == 0
          and v.first_piece.dry_fades == v.second_piece.dry_fades == 0
          and heard.max_abs_diff <= TOLERANCE)
    if not ok and keep is not None:
        np.save(keep, v.recording)
        summary += f"; recording kept in {keep}"
    assert heard.gaps == [], f"silence inside the music: {summary}"
    assert v.stats.underflows == 0, summary
    assert v.first_piece.dry_fades == v.second_piece.dry_fades == 0, summary
    assert v.stats.render_errors == 0, summary
    for name, value in heard.diff_by_part.items():
        assert value <= TOLERANCE, f"{name}: recorded audio differs by {value:.2e}: {summary}"
    assert (heard.crossfade_start - heard.first_start) % BLOCK == 0  # pieces start on a callback


def heard_visit(title: str, play: Callable[[], Visit]) -> tuple[Visit, Heard, str]:
    """Plays a visit and compares what was heard, twice at most: when the mixer played every
    block in time but the recording still differs, the OS ran the audio thread too late for the
    server (PulseAudio skipped a few ms; 2 of 27 busy runs on a 2-core machine shared with
    other jobs, load average 5-12), and that visit is played once more. Both are printed;
    a fault of the kiosk's own (underflow, dry fade, failed callback) is never retried."""
    notes: list[str] = []
    for attempt in (1, 2):
        v = play()
        heard = expected_and_compare(v)
        summary = report(title, v, heard)
        print(summary)
        exact = heard.max_abs_diff <= TOLERANCE and not heard.gaps
        kiosk_clean = (v.stats.underflows == 0 and v.stats.render_errors == 0
                       and v.first_piece.dry_fades == v.second_piece.dry_fades == 0)
        if exact or not kiosk_clean or attempt == 2:
            return v, heard, " | ".join([*notes, summary])
        notes.append(f"attempt 1 (server-side dropout, retried): {summary}")
    raise AssertionError("unreachable")


def test_a_visit_is_heard_sample_for_sample(pulse, pieces, tmp_path):
    """Both pieces, the equal-power crossfade and the fade-out reach the sound server exactly
    as the mixer made them; the first piece is written in chunks of any size."""
    (first_piece, first), (_, second) = pieces
    chunks = [first[i:i + 5000] for i in range(0, first.size, 5000)]
    v, heard, summary = heard_visit("quiet", lambda: visit(
        pulse, tmp_path / "played.raw", chunks, first_piece.samples, second))
    assert v.state == AudioState.DEVICE
    check(v, heard, summary, tmp_path / "recording.npy")
    assert np.array_equal(v.first, first)


def test_streamed_live_with_two_busy_processes_no_gap(pulse, pieces, tmp_path):
    """The first piece is vocoded live by the engine while it plays, the pre-roll gate decides
    when it starts, and two processes keep both cores busy: still no underflow, no gap, and the
    same sample-for-sample match, crossfade and fade-out included."""
    (first_piece, first), (_, second) = pieces

    def play() -> Visit:
        with busy_processes(2):
            return visit(pulse, tmp_path / "played.raw", first_piece.playback_blocks(),
                         first_piece.samples, second)

    v, heard, summary = heard_visit("busy", play)
    assert v.state == AudioState.DEVICE
    check(v, heard, summary, tmp_path / "recording.npy")
    gate = v.first_piece.gate
    assert gate is not None and gate.opened_at is not None
    assert np.abs(v.first - first).max() <= 1e-5  # the engine's stream, as it vocoded it before


def synthetic(seconds: float, frequency: float, seed: int) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * frequency * t) + 0.05 * noise).astype(np.float32)


def test_the_comparison_finds_a_gap_and_a_missing_fade(tmp_path):
    """The same visit on the silent stand-in output (no server needed) matches the model; the
    same recording with a callback's worth of silence inside, or with the piece cut instead of
    faded, does not."""
    first, second = synthetic(CLIP_S, 330.0, 1), synthetic(CLIP_S, 440.0, 2)
    chunks = [first[i:i + 3000] for i in range(0, first.size, 3000)]
    v = visit(None, tmp_path / "unused.raw", chunks, first.size, second)
    heard = expected_and_compare(v)
    check(v, heard, report("stand-in", v, heard))

    gap = heard.crossfade_start + round(CROSSFADE_S * SR) + 2000  # inside the second piece
    gapped = np.insert(v.recording, gap, np.zeros(BLOCK, np.float32))
    broken = expected_and_compare(dataclasses.replace(v, recording=gapped))
    assert broken.gaps == [(gap - broken.first_start, BLOCK)]
    assert broken.diff_by_part["second"] > 1e-3

    cut = v.recording.copy()
    lf = round(FADE_OUT_S * SR)
    cut[heard.fade_start:heard.fade_start + lf] = VOLUME * second[
        heard.fade_start - heard.crossfade_start:][:lf]
    unfaded = expected_and_compare(dataclasses.replace(v, recording=cut))
    assert max(unfaded.diff_by_part["fade-out"], unfaded.diff_by_part["second"]) > 1e-3
