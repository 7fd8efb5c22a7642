"""Streaming: chunked vocoding equals whole-piece vocoding; the first block comes early.

Stated tolerances (engine.streaming): the ONNX HiFi-GAN's blocks with the bundle's context
frames equal the whole-piece waveform within STREAM_ATOL = 1e-5 absolute (float rounding);
Griffin-Lim blocks (independent phases, cross-faded) keep the whole piece's log-Mel within
GRIFFIN_LIM_MEL_TOL = 0.5 nats mean absolute difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.audio_config import DEFAULT_AUDIO
from core.mel import log_mel
from engine import Engine
from engine.engine import DEFAULT_CHUNK_FRAMES, FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES
from engine.errors import EngineError
from engine.growing_mel import GrowingMel
from engine.streaming import (
    GRIFFIN_LIM_MEL_TOL,
    STREAM_ATOL,
    chunk_windows,
    stream_vocode,
)
from engine.vocoder import GriffinLimVocoder, OnnxVocoder
from tests.export.bundle_fixture import TINY_AUDIO


def _music_mel(frames: int) -> np.ndarray:
    t = np.arange(frames * 256) / DEFAULT_AUDIO.sample_rate
    wave = 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    wave += 0.2 * np.sin(2 * np.pi * 523 * t) * (t > t[-1] / 2)
    return log_mel(wave.astype(np.float32))


def test_windows_cover_the_piece_once_in_order_with_clipped_context():
    windows = chunk_windows(100, 30, 8)
    assert [(w.start, w.stop) for w in windows] == [(0, 30), (30, 60), (60, 90), (90, 100)]
    assert (windows[0].lo, windows[0].hi) == (0, 38)
    assert (windows[1].lo, windows[1].hi) == (22, 68)
    assert (windows[-1].lo, windows[-1].hi) == (82, 100)


def test_later_windows_double_up_to_the_largest_chunk():
    windows = chunk_windows(900, 64, 14, first_chunk_frames=32, max_chunk_frames=256)
    sizes = [w.stop - w.start for w in windows]
    assert sizes == [32, 64, 128, 256, 256, 164]
    assert sum(w.hi - w.lo for w in windows) == 900 + 2 * 14 * (len(windows) - 1)
    fixed = chunk_windows(900, 64, 14, first_chunk_frames=32)
    assert {w.stop - w.start for w in fixed[1:-1]} == {64}
    assert sum(w.hi - w.lo for w in fixed) > 1.2 * sum(w.hi - w.lo for w in windows)
    with pytest.raises(EngineError, match="largest chunk"):
        chunk_windows(900, 64, 14, max_chunk_frames=32)


@pytest.fixture(scope="module")
def engine(tiny_bundle) -> Engine:
    return Engine.load(tiny_bundle, providers=["cpu"], warmup=False)


@pytest.mark.parametrize("chunk", [1, 5, 8, 13, 32, 100])
def test_hifigan_stream_equals_the_whole_piece(engine, chunk):
    mel = _music_mel(TINY_AUDIO.frames)
    whole = engine.vocode(mel)
    blocks = list(engine.vocode_stream(mel, chunk_frames=chunk, max_chunk_frames=None))
    assert [b.size for b in blocks[1:-1]] == [chunk * 256] * (len(blocks) - 2)
    streamed = np.concatenate(blocks)
    assert streamed.shape == whole.shape
    assert np.abs(whole).max() > 1e-2  # a real signal, not silence
    assert np.abs(streamed - whole).max() < STREAM_ATOL


def test_onnx_hifigan_stream_of_a_full_length_piece_in_default_chunks(engine):
    """The kiosk's case: a 896-frame (10.4 s) Mel in 64-frame blocks through the ONNX graph."""
    assert isinstance(engine._vocoder, OnnxVocoder)
    frames = DEFAULT_AUDIO.frames
    mel = _music_mel(frames)
    whole = engine.vocode(mel)
    blocks = list(engine.vocode_stream(mel))
    # the first block is half a chunk, so the first sound comes sooner (FIRST_CHUNK_FRAMES);
    # then 64-frame blocks (MAX_CHUNK_FRAMES: no growth in the kiosk)
    hop = engine.audio.hop_length
    assert MAX_CHUNK_FRAMES == DEFAULT_CHUNK_FRAMES == 64
    assert [b.size // hop for b in blocks] == [FIRST_CHUNK_FRAMES, *[DEFAULT_CHUNK_FRAMES] * 13,
                                               32]
    grown = list(engine.vocode_stream(mel, max_chunk_frames=128))
    assert [b.size // hop for b in grown] == [32, 64, *[128] * 6, 32]
    assert np.abs(np.concatenate(grown) - whole).max() < STREAM_ATOL
    assert np.abs(np.concatenate(blocks) - whole).max() < STREAM_ATOL


def test_without_context_frames_the_stream_would_differ(engine):
    mel = _music_mel(TINY_AUDIO.frames)
    whole = engine.vocode(mel)
    hop = engine.audio.hop_length
    naive = np.concatenate(list(stream_vocode(engine._vocoder, mel, hop, 8, 0)))
    assert np.abs(naive - whole).max() > 10 * STREAM_ATOL


def test_the_first_block_needs_only_its_chunk_and_context():
    seen: list[int] = []

    def vocode(mel: np.ndarray) -> np.ndarray:
        seen.append(mel.shape[-1])
        return np.zeros(mel.shape[-1] * 256, np.float32)

    stream = stream_vocode(vocode, np.zeros((80, 896), np.float32), 256, 64, 9)
    first = next(stream)
    assert first.size == 64 * 256 and seen == [64 + 9]


def test_a_growing_mel_is_vocoded_as_its_frames_arrive():
    """Block [a, b) is vocoded once frames up to b + context exist (the Mel made 3 at a time),
    from the same window as in the one-pass stream."""
    mel = _music_mel(40)
    growing = GrowingMel((mel[:, s:s + 3] for s in range(0, 40, 3)), 80, 40)
    seen: list[tuple[int, int]] = []

    def vocode(window: np.ndarray) -> np.ndarray:
        seen.append((window.shape[-1], growing.available))
        return np.repeat(window.sum(axis=0), 256).astype(np.float32)

    blocks = stream_vocode(vocode, growing, 256, 8, 5)
    first = next(blocks)
    assert seen == [(13, 15)]  # frames [0, 13) asked for, 15 made
    rest = list(blocks)
    assert [available for _, available in seen] == [15, 21, 30, 39, 40]
    one_pass = list(stream_vocode(vocode, mel, 256, 8, 5))
    np.testing.assert_array_equal(np.concatenate([first, *rest]), np.concatenate(one_pass))


def test_hifigan_stream_of_a_growing_mel_equals_the_whole_piece(engine):
    mel = _music_mel(TINY_AUDIO.frames)
    growing = GrowingMel((mel[:, s:s + 7] for s in range(0, mel.shape[1], 7)), *mel.shape)
    streamed = np.concatenate(list(engine.vocode_stream(growing, chunk_frames=8)))
    np.testing.assert_array_equal(streamed,
                                  np.concatenate(list(engine.vocode_stream(mel, chunk_frames=8))))
    assert np.abs(streamed - engine.vocode(mel)).max() < STREAM_ATOL


def test_griffin_lim_stream_keeps_the_whole_pieces_spectrum():
    mel = _music_mel(96)
    vocoder = GriffinLimVocoder(DEFAULT_AUDIO, n_iter=16)
    whole = vocoder(mel)
    streamed = np.concatenate(list(stream_vocode(vocoder, mel, 256, 32, 8, vocoder.crossfade)))
    assert streamed.shape == whole.shape == (96 * 256,)
    difference = np.abs(log_mel(streamed)[:, 4:-4] - log_mel(whole)[:, 4:-4]).mean()
    assert difference < GRIFFIN_LIM_MEL_TOL
