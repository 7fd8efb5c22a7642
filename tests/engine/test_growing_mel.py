"""engine/growing_mel.py: a Mel filled chunk by chunk on demand, each frame generated once."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.errors import EngineError
from engine.growing_mel import GrowingMel

MEL = np.arange(3 * 10, dtype=np.float32).reshape(3, 10)


def _chunks(mel: np.ndarray, size: int, taken: list[int], delay_s: float = 0.0):
    for start in range(0, mel.shape[1], size):
        time.sleep(delay_s)
        taken.append(start)
        yield mel[:, start:start + size]


def test_frames_are_generated_only_when_asked_for_and_only_once():
    taken: list[int] = []
    mel = GrowingMel(_chunks(MEL, 4, taken), 3, 10)
    assert mel.shape == (3, 10) and mel.available == 0 and not mel.done and taken == []
    assert mel.so_far().shape == (3, 0)
    first = mel.until(3)  # one chunk of 4 covers it
    assert taken == [0] and first.shape == (3, 4)
    np.testing.assert_array_equal(first, MEL[:, :4])
    assert mel.until(2).shape == (3, 4) and taken == [0]  # nothing new asked for
    assert mel.until(5).shape == (3, 8) and taken == [0, 4]
    np.testing.assert_array_equal(first, MEL[:, :4])  # an earlier view never changes
    whole = mel.complete()
    assert taken == [0, 4, 8] and mel.done and mel.available == 10
    np.testing.assert_array_equal(whole, MEL)
    assert whole.dtype == np.float32
    assert mel.until(100) is not None and taken == [0, 4, 8]  # past the end: the whole piece
    np.testing.assert_array_equal(mel.so_far(), MEL)


def test_a_decoder_that_stops_early_or_overruns_is_a_clear_error():
    short = GrowingMel(iter([MEL[:, :4]]), 3, 10)
    with pytest.raises(EngineError, match="stopped after 4 of 10 Mel frames"):
        short.complete()
    overrun = GrowingMel(iter([MEL[:, :8], MEL[:, :8]]), 3, 10)
    with pytest.raises(EngineError, match="after 8 of 10 frames"):
        overrun.complete()
    wrong = GrowingMel(iter([np.zeros((2, 4), np.float32)]), 3, 10)
    with pytest.raises(EngineError, match=r"shape \(2, 4\)"):
        wrong.until(1)


def test_two_threads_asking_at_once_share_the_frames():
    taken: list[int] = []
    mel = GrowingMel(_chunks(MEL, 2, taken, delay_s=0.01), 3, 10)
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(mel.complete())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken == [0, 2, 4, 6, 8]
    for result in results:
        np.testing.assert_array_equal(result, MEL)
