"""Known answers for core/prompt.py, core/griffin_lim.py and core/loudness.py: literal strings,
librosa's own Griffin-Lim and filter bank called here with literal parameters, and Parseval's
closed form for the level of a spectrum."""

from __future__ import annotations

import math

import librosa
import numpy as np
import scipy.linalg

from core.audio_config import AudioConfig
from core.griffin_lim import griffin_lim
from core.loudness import estimate_rms_dbfs, normalising_gain
from core.prompt import build_prompt, clean_text

SMALL = AudioConfig(sample_rate=8000, n_fft=64, win_length=48, hop_length=16, n_mels=8, fmin=100.0,
                    fmax=3000.0, frames=10, log_floor=1e-5)


def test_clean_text_normalises_and_collapses():
    assert clean_text("  ﬁne\tday\n\x00end  ") == "fine day end"  # NFKC ligature, controls → spaces
    assert clean_text("ＡＢＣ　x") == "ABC x"  # full-width letters and space
    assert clean_text("a\u200bb") == "a b"  # format character (category Cf) → space
    assert clean_text(None) == ""
    assert clean_text("emoji 🎨 stay") == "emoji 🎨 stay"
    assert clean_text("") == ""


def test_clean_text_cuts_at_a_word_boundary():
    assert clean_text("abc def ghi", 7) == "abc def"  # "abc def ghi"[7] == " ": the word fits
    assert clean_text("abc def ghi", 8) == "abc def"
    assert clean_text("abc def ghi", 6) == "abc de"  # space at 3 = 6 // 2: hard cut
    assert clean_text("abcd efg hi", 6) == "abcd"  # space at 4 > 3: cut at the space
    assert clean_text("abcdefgh ij", 6) == "abcdef"  # the only space is past the limit: hard cut
    assert clean_text("ab cdefghij", 8) == "ab cdefg"  # space at 2 ≤ 8 // 2: hard cut
    assert clean_text("abcd efghij", 8) == "abcd efg"  # space at 4 = 8 // 2: still a hard cut
    assert clean_text("abcde fghij", 8) == "abcde"  # space at 5 > 4: cut at the space
    assert clean_text("abc def", 7) == "abc def"  # not longer than the limit: untouched
    assert clean_text("abcde fg", 8) == "abcde fg"  # exactly the limit: untouched
    assert clean_text("abcde fg hij", 10) == "abcde fg"  # the last space before the limit
    long = "word " * 200  # 1000 characters, default limit 600
    assert clean_text(long) == ("word " * 120).strip()
    assert len(clean_text("x" * 700)) == 600
    assert clean_text("a" * 598 + " bcd") == "a" * 598


def test_default_limit_is_600_characters():
    text = "a" * 599 + " " + "b" * 10  # space at 599 > 300: cut there
    assert clean_text(text) == "a" * 599
    text = "a" * 600 + " b"  # text[600] == " ": all 600 characters fit
    assert clean_text(text) == "a" * 600


def test_build_prompt_literals():
    assert build_prompt("A stormy sea.", ["awe", " fear "], ["Music", "", "Rain"], ["waves"]) == \
        ("Art Commentary: A stormy sea. Painting Emotion: awe, fear. Audio: Music, Rain. "
         "Audio keywords: waves.")
    assert build_prompt("SAX", [], [], []) == \
        "Art Commentary: SAX. Painting Emotion: . Audio: . Audio keywords: ."
    assert build_prompt("", [], [], []) == "Art Commentary: . Painting Emotion: . Audio: . Audio keywords: ."
    assert build_prompt("calm...", ["x" * 85], ["  a\n b "], ["k1", "k2", "k3"]) == \
        ("Art Commentary: calm. Painting Emotion: " + "x" * 80 + ". Audio: a b. Audio keywords: k1, k2, k3.")
    words = "abcdefghi " * 9  # 90 characters: each item is cut to 80 at a word
    assert build_prompt("c", [words], [], []) == \
        "Art Commentary: c. Painting Emotion: " + ("abcdefghi " * 8).strip() + ". Audio: . Audio keywords: ."


def _librosa_griffin_lim(log_mel: np.ndarray, n_iter: int) -> np.ndarray:
    linear = librosa.feature.inverse.mel_to_stft(np.exp(log_mel.astype(np.float32)), sr=8000,
                                                 n_fft=64, power=1.0, fmin=100.0, fmax=3000.0)
    audio = librosa.griffinlim(linear, n_iter=n_iter, hop_length=16, win_length=48, window="hann",
                               center=False, length=9 * 16 + 64, random_state=0)
    return audio[24:24 + 160]  # pad (64 − 16) // 2 = 24, then 10 frames × 16 samples


def test_griffin_lim_is_librosas_with_the_shared_conventions():
    log_mel = np.log(np.abs(np.random.default_rng(3).standard_normal((8, 10))) + 0.01).astype(np.float32)
    audio = griffin_lim(log_mel, SMALL, n_iter=3)
    assert audio.dtype == np.float32 and audio.shape == (160,)
    np.testing.assert_allclose(audio, _librosa_griffin_lim(log_mel, 3), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(griffin_lim(log_mel.astype(np.float64), SMALL),
                               _librosa_griffin_lim(log_mel, 32), rtol=1e-5, atol=1e-6)


def _parseval_dbfs(log_mel: np.ndarray, config: AudioConfig) -> float:
    bank = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                               fmin=config.fmin, fmax=config.fmax)
    spectrum = np.clip(scipy.linalg.pinv(bank) @ np.exp(log_mel.astype(np.float64)), 0, None)
    # periodic Hann window
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(config.win_length) / config.win_length)
    mean_square = 2 * np.sum(spectrum**2, axis=0) / (config.n_fft * np.sum(window**2))
    return 20 * math.log10(math.sqrt(float(np.mean(mean_square))))


def test_estimate_is_parsevals_level_of_the_pseudo_inverse_spectrum():
    log_mel = np.log(np.random.default_rng(5).uniform(0.01, 2.0, (8, 10))).astype(np.float32)
    assert math.isclose(estimate_rms_dbfs(log_mel, SMALL), _parseval_dbfs(log_mel, SMALL), abs_tol=1e-3)
    loud = log_mel + 2.0
    assert math.isclose(estimate_rms_dbfs(loud, SMALL), _parseval_dbfs(loud, SMALL), abs_tol=1e-3)
    assert estimate_rms_dbfs(np.full((8, 4), -200.0, np.float32), SMALL) == -180.0  # floor 1e-9


def test_estimate_of_a_sine_is_its_rms():
    config = AudioConfig()
    t = np.arange(config.sample_rate) / config.sample_rate
    sine = 0.5 * np.sin(2 * np.pi * 1000 * t)  # RMS 0.5 / √2 = −9.03 dBFS
    frames = librosa.stft(np.pad(sine, 384, mode="reflect"), n_fft=1024, hop_length=256,
                          win_length=1024, window="hann", center=False)
    bank = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    log_mel = np.log(np.maximum(bank @ np.abs(frames), 1e-5)).astype(np.float32)
    assert abs(estimate_rms_dbfs(log_mel) - 20 * math.log10(0.5 / math.sqrt(2))) < 1.0


def test_gain_is_the_db_difference_capped_at_30_db():
    log_mel = np.log(np.random.default_rng(5).uniform(0.01, 2.0, (8, 10))).astype(np.float32)
    level = _parseval_dbfs(log_mel, SMALL)
    assert math.isclose(normalising_gain(log_mel, SMALL, -12.0), 10 ** ((-12.0 - level) / 20),
                        rel_tol=1e-3)
    assert math.isclose(normalising_gain(log_mel, SMALL, level - 6.0), 10 ** (-6 / 20), rel_tol=1e-3)
    silent = np.full((8, 4), -200.0, np.float32)
    assert math.isclose(normalising_gain(silent, SMALL), 10 ** 1.5, rel_tol=1e-9)  # default cap 30 dB
    assert math.isclose(normalising_gain(silent, SMALL, max_gain_db=12.0), 10 ** 0.6, rel_tol=1e-9)
    quiet_level = _parseval_dbfs(log_mel - 3.0, SMALL)  # target −20 dBFS by default
    assert math.isclose(normalising_gain(log_mel - 3.0, SMALL), 10 ** ((-20 - quiet_level) / 20),
                        rel_tol=1e-3)
    assert type(normalising_gain(silent, SMALL)) is float
