"""Metrics of Table IV against known answers: identities, closed forms, constructed offsets."""

import math

import numpy as np
import pytest

from training.evaluation.metrics import (
    MCD_CONSTANT,
    fad,
    fit_gaussian,
    frechet_distance,
    lsd,
    lsd_from_power,
    lsd_mel,
    mcd,
    mean_cosine,
    paired_cosine,
)

RNG = np.random.default_rng(0)


def random_log_mel(frames: int = 40) -> np.ndarray:
    return RNG.normal(-4.0, 2.0, size=(80, frames))


def test_identical_inputs_give_zero_distance_and_unit_cosine():
    mel = random_log_mel()
    audio = RNG.normal(0, 0.1, 8000).astype(np.float32)
    embeddings = RNG.normal(size=(50, 8))
    assert mcd(mel, mel) == 0.0
    assert lsd_mel(mel, mel) == 0.0
    assert lsd(audio, audio) == 0.0
    assert fad(embeddings, embeddings) == pytest.approx(0.0, abs=1e-8)
    assert mean_cosine(embeddings, embeddings) == pytest.approx(1.0)


def test_mcd_of_a_known_cepstral_offset():
    mel = random_log_mel()
    delta = np.zeros(80)
    delta[0] = 5.0  # c0 (gain) is excluded
    delta[1:14] = np.linspace(0.1, 0.4, 13)
    delta[20] = 3.0  # beyond the 13 cepstra: ignored
    m = np.arange(80)
    # ln M_m = c0 + 2 Σ_d c_d cos(π d (m + ½) / N): the cepstral convention of mel_cepstrum
    shift = delta[0] + 2 * sum(delta[d] * np.cos(np.pi * d * (m + 0.5) / 80) for d in range(1, 80))
    expected = MCD_CONSTANT * math.sqrt(2.0 * np.sum(delta[1:14] ** 2))
    assert mcd(mel, mel + shift[:, None]) == pytest.approx(expected, rel=1e-9)
    assert mcd(mel, mel + 3.0) == pytest.approx(0.0, abs=1e-9)


def test_mcd_is_at_most_half_the_mel_lsd():
    a, b = random_log_mel(), random_log_mel()
    assert 0 < mcd(a, b) <= 0.5 * lsd_mel(a, b)


def test_lsd_of_a_constant_gain_is_that_gain_in_db():
    power = RNG.uniform(0.1, 10.0, size=(513, 30))
    assert lsd_from_power(power, power * 100.0, eps=0.0) == pytest.approx(20.0)
    mel = random_log_mel()
    assert lsd_mel(mel, mel + math.log(10.0)) == pytest.approx(20.0)  # ×10 magnitude = 20 dB
    audio = RNG.normal(0, 0.1, 16000)
    assert lsd(audio, 0.1 * audio) == pytest.approx(20.0, abs=1e-3)


def test_lsd_of_a_20_db_error_in_one_frame_of_ten_is_2_db():
    """Per-frame RMS over bins first, then the mean over frames: 20 dB in 1 of 10 frames → 2 dB
    (the RMS over frames first would give √(20²/10) = 6.32 dB)."""
    power = RNG.uniform(0.1, 10.0, size=(513, 10))
    generated = power.copy()
    generated[:, 3] *= 100.0
    assert lsd_from_power(power, generated, eps=0.0) == pytest.approx(2.0)


def test_mel_lsd_of_a_20_db_error_in_a_quarter_of_one_frames_bands():
    """×10 magnitude (ln 10 nepers = 20 dB power) in 20 of 80 bands of 1 of 10 frames:
    that frame's RMS is 20 · √(20/80) = 10 dB, the others 0, so the mean is 1 dB."""
    mel = random_log_mel(10)
    generated = mel.copy()
    generated[:20, 6] += math.log(10.0)
    assert lsd_mel(mel, generated) == pytest.approx(1.0)


def test_mcd_of_one_cepstral_coefficient_in_one_frame_of_ten():
    """ln M̂_m = ln M_m + 2c·cos(π·3·(m + ½)/80) in frame 4 only: Δc₃ = c there, so that frame's
    MCD is (10 / ln 10)·√(2c²) and the mean over 10 frames a tenth of it."""
    mel = random_log_mel(10)
    c = 0.25
    m = np.arange(80)
    generated = mel.copy()
    generated[:, 4] += 2.0 * c * np.cos(np.pi * 3 * (m + 0.5) / 80)
    expected = 10.0 / math.log(10.0) * math.sqrt(2.0) * c / 10.0
    assert expected == pytest.approx(0.15355, abs=1e-5)  # the literal value, for the reader
    assert mcd(mel, generated) == pytest.approx(expected)


def test_frechet_distance_closed_form_for_diagonal_and_rotated_covariances():
    mu1, mu2 = np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.5, 1.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    rotation, _ = np.linalg.qr(RNG.normal(size=(3, 3)))  # same eigenbasis: still closed form
    sigma1, sigma2 = rotation @ np.diag(a) @ rotation.T, rotation @ np.diag(b) @ rotation.T
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected)
    assert frechet_distance(np.array([0.0]), np.array([[4.0]]), np.array([3.0]),
                            np.array([[1.0]])) == pytest.approx(9.0 + 1.0)


def test_frechet_distance_matches_the_symmetric_form_for_general_covariances():
    def spd(d):
        m = RNG.normal(size=(d, d))
        return m @ m.T + 0.1 * np.eye(d)

    def psd_sqrt(m):
        values, vectors = np.linalg.eigh(m)
        return vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T

    sigma1, sigma2 = spd(5), spd(5)
    root = psd_sqrt(sigma1)
    expected = np.trace(sigma1 + sigma2 - 2 * psd_sqrt(root @ sigma2 @ root))
    assert frechet_distance(np.zeros(5), sigma1, np.zeros(5), sigma2) == pytest.approx(expected)


def test_fad_of_sample_sets_with_exact_moments():
    def with_moments(n, mean, cov):
        x = RNG.normal(size=(n, len(mean)))
        x -= x.mean(axis=0)
        x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)).T)  # whiten exactly
        return x @ np.linalg.cholesky(cov).T + mean

    mean1, mean2 = np.array([0.0, 1.0]), np.array([2.0, 1.0])
    cov1, cov2 = np.diag([1.0, 9.0]), np.diag([4.0, 1.0])
    a, b = with_moments(200, mean1, cov1), with_moments(300, mean2, cov2)
    fit = fit_gaussian(a)
    np.testing.assert_allclose(fit.covariance, cov1, atol=1e-9)
    assert fad(a, b) == pytest.approx(4.0 + (1 - 2) ** 2 + (3 - 1) ** 2)


def test_fad_survives_fewer_samples_than_dimensions():
    a, b = RNG.normal(size=(5, 20)), RNG.normal(size=(6, 20)) + 1.0
    value = fad(a, b)
    assert np.isfinite(value) and value > 0


def test_fad_rejects_a_single_embedding():
    with pytest.raises(ValueError, match="at least 2"):
        fad(np.ones((1, 4)), np.ones((3, 4)))


def test_cosine_is_per_pair():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    b = np.array([[2.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    np.testing.assert_allclose(paired_cosine(a, b), [1.0, -1.0, 1 / math.sqrt(2)])
    assert mean_cosine(a, b) == pytest.approx((1.0 - 1.0 + 1 / math.sqrt(2)) / 3)


def test_shape_mismatch_is_an_actionable_error():
    with pytest.raises(ValueError, match="crop both"):
        mcd(random_log_mel(10), random_log_mel(12))
