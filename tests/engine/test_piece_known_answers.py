"""Known answers for engine/piece.py and the Griffin-Lim vocoder wrapper of engine/vocoder.py."""

from __future__ import annotations

import numpy as np

from core.audio_config import AudioConfig
from core.griffin_lim import griffin_lim
from engine.piece import Piece
from engine.vocoder import GriffinLimVocoder


def _piece(gain: float = 1.0) -> Piece:
    def stream(log_mel):  # one block per frame: the frame's first value, 2 samples (float64)
        for value in log_mel[0]:
            yield np.full(2, value, np.float64)

    log_mel = np.array([[1.0, -2.0, 3.0], [0.0, 0.0, 0.0]])
    return Piece("p", ("awe",), np.zeros(2), np.zeros(3), log_mel, sample_rate=4, hop_length=2,
                 stream=stream, gain=gain)


def test_blocks_audio_and_playback_with_the_gain():
    piece = _piece(gain=0.5)
    assert [b.tolist() for b in piece.blocks()] == [[1, 1], [-2, -2], [3, 3]]
    assert piece.audio().tolist() == [1, 1, -2, -2, 3, 3]
    played = list(piece.playback_blocks())
    assert [b.tolist() for b in played] == [[0.5, 0.5], [-1, -1], [1.5, 1.5]]
    assert all(b.dtype == np.float32 for b in played)
    assert piece.playback_audio().tolist() == [0.5, 0.5, -1, -1, 1.5, 1.5]
    assert piece.playback_audio().dtype == np.float32
    assert _piece().playback_audio().tolist() == [1, 1, -2, -2, 3, 3]
    assert (piece.samples, piece.seconds) == (6, 1.5)
    assert piece.timings == {} and piece.reading is None


def test_griffin_lim_vocoder_uses_its_iterations_and_config():
    audio = AudioConfig(sample_rate=8000, n_fft=64, win_length=64, hop_length=16, n_mels=8, fmax=4000.0,
                        frames=6)
    log_mel = np.log(np.random.default_rng(1).uniform(0.05, 1.0, (8, 6))).astype(np.float32)
    vocoder = GriffinLimVocoder(audio, n_iter=2)
    assert (vocoder.name, vocoder.n_iter, vocoder.crossfade) == ("griffin_lim", 2, 64)
    np.testing.assert_array_equal(vocoder(log_mel), griffin_lim(log_mel, audio, n_iter=2))
    assert not np.allclose(vocoder(log_mel), griffin_lim(log_mel, audio, n_iter=32))
    assert GriffinLimVocoder(audio).n_iter == 32
