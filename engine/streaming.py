"""Chunked vocoding: Mel chunks with context frames on both sides, output cropped to the chunk.

A chunk [a, b) is vocoded from the window [a − c, b + c) (clipped to the piece) and the samples of
[a, b) are kept. For a convolutional vocoder whose receptive field is within c frames (HiFi-GAN:
measured at export, manifest ``vocoder.context_frames``) the blocks concatenate to the
whole-piece output up to float rounding. For a vocoder with a global state (Griffin-Lim's
phase), neighbouring blocks are cross-faded over ``crossfade`` samples of their shared context.

Stated tolerances (tests/engine/test_streaming.py checks both on the tiny bundle):
- ONNX HiFi-GAN: the joined blocks equal the one-pass waveform within ``STREAM_ATOL`` (1e-5)
  absolute, for any chunk size ≥ 1 frame.
- Griffin-Lim: the joined blocks keep the one-pass log-Mel within ``GRIFFIN_LIM_MEL_TOL``
  (0.5 nats) mean absolute difference (the samples differ, as each block has its own phase).

The Mel may still be growing (engine.growing_mel, a sampling decoder): block [a, b) asks for
frames up to b + c before it is vocoded, so the first block waits for b + c frames, not the
piece; every window holds the same frames as in a one-pass stream, so the blocks are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError
from engine.growing_mel import GrowingMel

VocodeFn = Callable[[np.ndarray], np.ndarray]

STREAM_ATOL = 1e-5
"""Max abs difference, streamed vs one-pass, for a graph vocoder with enough context frames."""

GRIFFIN_LIM_MEL_TOL = 0.5
"""Mean abs log-Mel difference (nats), streamed vs one-pass, for Griffin-Lim."""


@dataclass(frozen=True)
class ChunkWindow:
    """Chunk [start, stop) of the piece, vocoded from frames [lo, hi)."""

    lo: int
    start: int
    stop: int
    hi: int


def chunk_windows(frames: int, chunk_frames: int, context_frames: int,
                  first_chunk_frames: int | None = None,
                  max_chunk_frames: int | None = None) -> list[ChunkWindow]:
    """The windows that cover `frames` Mel frames: the first chunk has `first_chunk_frames`
    (default: `chunk_frames`), so the first sound can come sooner; the next `chunk_frames`, and
    with `max_chunk_frames` each later chunk doubles up to that size. Larger later chunks
    spend less of the vocoder's work on context frames (64-frame chunks with 14 context frames
    a side vocode 1.44 frames per frame kept, 256-frame chunks 1.11) once enough audio is
    buffered to wait for them."""
    first = chunk_frames if first_chunk_frames is None else first_chunk_frames
    largest = chunk_frames if max_chunk_frames is None else max_chunk_frames
    if chunk_frames < 1 or first < 1 or context_frames < 0 or largest < chunk_frames:
        raise EngineError(f"chunk_frames must be ≥ 1, context ≥ 0 and the largest chunk ≥ "
                          f"chunk_frames, got {chunk_frames} (first {first}, largest {largest}) "
                          f"and {context_frames}; pass a positive chunk size.")
    windows = []
    start, size = 0, first
    while start < frames:
        stop = min(frames, start + size)
        windows.append(ChunkWindow(max(0, start - context_frames), start, stop,
                                   min(frames, stop + context_frames)))
        size = chunk_frames if start == 0 else min(largest, 2 * size)
        start = stop
    return windows


def stream_vocode(vocode: VocodeFn, log_mel: np.ndarray | GrowingMel, hop: int,
                  chunk_frames: int, context_frames: int, crossfade: int = 0,
                  first_chunk_frames: int | None = None,
                  max_chunk_frames: int | None = None) -> Iterator[np.ndarray]:
    """Audio blocks (float32) of :func:`chunk_windows`' chunks × hop samples, in order; a growing
    Mel is generated up to each window's end just before the window is vocoded."""
    tail: np.ndarray | None = None
    for window in chunk_windows(log_mel.shape[-1], chunk_frames, context_frames,
                                first_chunk_frames, max_chunk_frames):
        mel = log_mel.until(window.hi) if isinstance(log_mel, GrowingMel) else log_mel
        audio = np.asarray(vocode(mel[:, window.lo:window.hi]), dtype=np.float32)
        begin, end = (window.start - window.lo) * hop, (window.stop - window.lo) * hop
        block = audio[begin:end].copy()
        if tail is not None and crossfade:
            n = min(tail.size, block.size)
            ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
            block[:n] = tail[:n] * (1.0 - ramp) + block[:n] * ramp
        tail = audio[end:end + crossfade]
        yield block
