"""Gapless streamed playback (issue 10, item 2): the pre-roll gate and fades around a gap."""

import numpy as np
import pytest

from installation.mixer import Mixer, Piece
from installation.preroll import PrerollGate
from installation.ring_buffer import BlockRing

B = 256
SR = 22050


def _mixer(**overrides) -> Mixer:
    settings = dict(sample_rate=SR, crossfade_seconds=0.0, fade_out_seconds=2000 / SR,
                    volume=1.0, limit=1.0, end_fade_samples=64)
    settings.update(overrides)
    return Mixer(**settings)


def _render(mixer: Mixer, blocks: int) -> np.ndarray:
    return np.concatenate([mixer.render(B) for _ in range(blocks)])


def test_the_required_buffer_is_what_playback_eats_while_the_rest_is_made():
    gate = PrerollGate(total_samples=10 * SR, sample_rate=SR, safety=1.0, min_seconds=0.2)
    gate.record(1 * SR, now=0.0)  # first write at t = 0: 1 s of audio
    gate.record(3 * SR, now=4.0)  # 2 s more in 4 s: half real time
    assert gate.rate() == pytest.approx(0.5)
    # 7 s still to make at 0.5x: it takes 14 s, playback eats 14 s: 7 s must be buffered
    assert gate.required_seconds(gate.rate()) == pytest.approx(7.0)
    assert not gate.ready(3 * SR, closed=False, now=4.0)
    gate.record(8 * SR, now=14.0)  # 8 s made, 2 s left at 0.5x: 2 s more needed, 8 held
    assert gate.ready(8 * SR, closed=False, now=14.0)
    assert (gate.opened_at, gate.buffered_at_open) == (14.0, pytest.approx(8.0))


def test_fast_generation_starts_after_the_minimum_and_unmeasured_waits():
    gate = PrerollGate(total_samples=10 * SR, sample_rate=SR, safety=0.8, min_seconds=0.2)
    gate.record(SR // 2, now=0.0)
    assert gate.rate() is None and not gate.ready(SR // 2, closed=False)
    gate.record(SR, now=0.1)  # 5x real time: 4x after the safety margin
    assert gate.required_seconds(gate.rate()) == pytest.approx(0.2)
    assert gate.ready(SR, closed=False)


def test_a_closed_or_complete_piece_starts_at_once():
    gate = PrerollGate(total_samples=10 * SR, sample_rate=SR)
    gate.record(B, now=0.0)
    assert gate.ready(B, closed=True)
    complete = PrerollGate(total_samples=2 * B, sample_rate=SR)
    complete.record(2 * B, now=0.0)
    assert complete.ready(2 * B, closed=False)
    assert not PrerollGate(total_samples=2 * B, sample_rate=SR).ready(0, closed=False)


def _streamed_piece(total_blocks: int, capacity: int = 64) -> Piece:
    return Piece(BlockRing(B, capacity), gate=PrerollGate(total_blocks * B, SR, safety=1.0,
                                                          min_seconds=0.0))


def test_the_mixer_holds_a_slow_piece_until_its_buffer_covers_the_rest():
    mixer = _mixer()
    piece = _streamed_piece(total_blocks=40)
    mixer.play(piece)
    ring, gate = piece.ring, piece.gate
    for i in range(10):  # 10 blocks made in 20 blocks' time: 0.5x real time
        ring.put(np.full(B, 0.5, np.float32))
        gate.record((i + 1) * B, now=i * 2 * B / SR)
    assert not piece.may_start()  # 30 blocks to go need 30 buffered at 0.5x
    assert np.all(_render(mixer, 3) == 0.0) and mixer.stats.underflows == 0
    for i in range(10, 20):
        ring.put(np.full(B, 0.5, np.float32))
        gate.record((i + 1) * B, now=i * 2 * B / SR)
    assert piece.may_start()  # 20 to go at 0.5x: 20 buffered is enough
    out = _render(mixer, 20)
    assert np.allclose(out[:-64], 0.5) and mixer.stats.underflows == 0


def test_a_full_ring_starts_even_when_the_gate_would_wait():
    piece = _streamed_piece(total_blocks=100, capacity=8)
    for i in range(7):
        piece.ring.put(np.full(B, 0.5, np.float32))
        piece.gate.record((i + 1) * B, now=float(i))  # very slow
    assert piece.may_start()


def test_running_dry_fades_out_and_back_in_instead_of_cutting():
    mixer = _mixer()
    ring = BlockRing(B, 16)
    piece = Piece(ring)
    mixer.play(piece)
    ring.put(np.full(B, 0.5, np.float32))
    ring.put(np.full(B, 0.5, np.float32))
    out = _render(mixer, 3)
    assert np.allclose(out[:B], 0.5)  # another block follows: untouched
    fall = out[2 * B - 64:2 * B]
    assert np.all(np.diff(fall) <= 0) and abs(fall[-1]) < 0.05  # nothing after it yet: falls
    assert np.all(out[2 * B:] == 0.0) and mixer.stats.underflows == 1
    ring.put(np.full(B, 0.5, np.float32))
    ring.put(np.full(B, 0.5, np.float32))
    again = _render(mixer, 1)
    assert abs(again[0]) < 0.05 and np.all(np.diff(again[:64]) >= 0)  # rises again
    assert np.allclose(again[64:], 0.5)
    assert piece.dry_fades == 1
