"""Token-decoder checks: nearest training window and the codebook round trip, known answers."""

import numpy as np
import torch

from training.evaluation.token_checks import (
    WINDOW_FRAMES,
    mel_windows,
    nearest_window_distances,
    through_codes,
)
from training.models.codebook import ResidualCodebook


def test_windows_are_one_second_with_half_overlap():
    mel = np.arange(2 * 200, dtype=np.float32).reshape(2, 200)
    windows = mel_windows(mel)
    assert windows.shape == (3, 2 * WINDOW_FRAMES)  # starts 0, 43, 86 (129 + 86 > 200)
    np.testing.assert_array_equal(windows[1], mel[:, 43:43 + WINDOW_FRAMES].ravel())


def test_a_copied_training_window_is_at_distance_zero_and_an_offset_one_at_its_offset():
    rng = np.random.default_rng(0)
    training_mel = rng.uniform(-1, 1, (4, 172)).astype(np.float32)
    training = mel_windows(training_mel)
    copy = training_mel[:, 43:43 + WINDOW_FRAMES]
    assert nearest_window_distances([copy], training).tolist() == [0.0]
    shifted = nearest_window_distances([copy + 0.25], training)
    assert shifted[0] <= 0.25 + 1e-6 and shifted[0] > 0.0


def test_a_mel_made_of_codebook_entries_goes_through_the_codes_unchanged():
    codebook = ResidualCodebook(2, 3, 2)
    books = np.array([[[0.5, 0.0], [-0.5, 0.2], [0.0, -0.6]],
                      [[0.0, 0.0], [0.1, 0.1], [-0.1, 0.0]]], dtype=np.float32)
    codebook.set_books(torch.from_numpy(books))
    mel = np.stack([books[0][0] + books[1][1], books[0][2] + books[1][0]], axis=1)  # [2, 2]
    np.testing.assert_allclose(through_codes(codebook, mel), mel, atol=1e-6)
