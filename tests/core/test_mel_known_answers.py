"""The Mel definition against answers from outside core.mel: librosa's filter bank and Mel
frequencies, closed forms for the log floor and the normalisation, and files written with
soundfile at another sample rate."""

from __future__ import annotations

import math
from dataclasses import replace

import librosa
import numpy as np
import pytest
import soundfile as sf

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import (
    audio_file_to_mel,
    denormalize,
    fix_length,
    load_audio,
    log_mel,
    mel_filter_bank,
    normalize,
)

SR = 22050


def _tone(freq: float, seconds: float, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_filter_bank_is_librosas_slaney_bank_up_to_8_khz():
    expected = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    bank = mel_filter_bank(DEFAULT_AUDIO)
    assert bank.shape == (80, 513) and bank.dtype == np.float32
    np.testing.assert_allclose(bank, expected, rtol=1e-6, atol=1e-9)
    # nothing above 8 kHz reaches any band (bin 372 is 8010 Hz)
    assert np.all(bank[:, 372:] == 0.0)


def test_the_constants_are_the_papers():
    assert (DEFAULT_AUDIO.sample_rate, DEFAULT_AUDIO.n_fft, DEFAULT_AUDIO.win_length,
            DEFAULT_AUDIO.hop_length, DEFAULT_AUDIO.n_mels, DEFAULT_AUDIO.frames) == (
        22050, 1024, 1024, 256, 80, 896)
    assert (DEFAULT_AUDIO.fmin, DEFAULT_AUDIO.fmax, DEFAULT_AUDIO.log_floor) == (0.0, 8000.0, 1e-5)
    assert DEFAULT_MEL_NORM.log_min == pytest.approx(-11.512925465)
    assert DEFAULT_MEL_NORM.log_max == 2.5


def test_silence_sits_exactly_on_the_log_floor():
    mel = log_mel(np.zeros(256 * 8, np.float32))
    assert mel.shape == (80, 8)
    np.testing.assert_allclose(mel, math.log(1e-5), rtol=1e-6)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_a_tone_peaks_in_the_band_whose_centre_is_nearest(freq: float):
    centres = librosa.mel_frequencies(n_mels=82, fmin=0.0, fmax=8000.0)[1:-1]
    mel = log_mel(_tone(freq, 1.0))
    assert abs(int(mel[:, 10:-10].mean(axis=1).argmax()) - int(np.abs(centres - freq).argmin())) <= 1


def test_a_tone_above_fmax_leaves_every_band_near_silence():
    mel = log_mel(_tone(9500.0, 0.5))
    loud = log_mel(_tone(3000.0, 0.5))
    assert mel[:, 4:-4].max() < loud[:, 4:-4].max() - 5.0


def test_the_magnitude_of_a_full_scale_tone_matches_the_closed_form():
    """A sine of amplitude A under a Hann window of N samples has an STFT peak of A·N/4."""
    freq = 43 * SR / 1024  # exactly on FFT bin 43
    mel = log_mel(_tone(freq, 1.0, amplitude=1.0))
    bank = mel_filter_bank(DEFAULT_AUDIO)
    band = int(bank[:, 43].argmax())
    peak_magnitude = 1024 / 4
    # the band sums neighbouring bins too (Hann main lobe: bins 42 and 44 at half height)
    expected = bank[band, 43] * peak_magnitude + (bank[band, 42] + bank[band, 44]) * peak_magnitude / 2
    assert float(np.median(mel[band, 4:-4])) == pytest.approx(math.log(expected), abs=0.02)


def test_normalisation_is_the_affine_map_onto_minus_one_to_one():
    norm = MelNormalization(log_min=-10.0, log_max=2.0)
    values = np.array([-10.0, -4.0, 2.0, -12.0, 5.0], np.float32)
    np.testing.assert_allclose(normalize(values, norm), [-1.0, 0.0, 1.0, -1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(denormalize(np.array([-1.0, 0.0, 0.5, 3.0], np.float32), norm),
                               [-10.0, -4.0, -1.0, 2.0], atol=1e-6)


def test_fix_length_truncates_from_the_end_and_pads_with_the_fill_value():
    mel = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_array_equal(fix_length(mel, 4), [[0, 1, 2, 3], [6, 7, 8, 9]])
    np.testing.assert_array_equal(fix_length(mel, 6), mel)
    np.testing.assert_array_equal(fix_length(mel[:, :2], 4, fill_value=-2.0),
                                  [[0, 1, -2, -2], [6, 7, -2, -2]])
    assert fix_length(mel[:, :2], 4).tolist()[0] == [0.0, 1.0, -1.0, -1.0]


def test_load_audio_resamples_to_22050_and_mixes_to_mono(tmp_path):
    stereo = np.stack([_tone(1000.0, 2.0, sr=44100), np.zeros(88200, np.float32)], axis=1)
    path = tmp_path / "tone.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size == 44100
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(spectrum.argmax() * 22050 / audio.size - 1000.0) < 2.0
    assert np.sqrt(np.mean(audio[1000:-1000] ** 2)) == pytest.approx(0.25 / math.sqrt(2), rel=0.02)


def test_load_audio_reads_from_the_offset_for_the_duration(tmp_path):
    audio = np.concatenate([np.zeros(SR, np.float32), _tone(500.0, 1.0)])
    path = tmp_path / "late.wav"
    sf.write(path, audio, SR, subtype="FLOAT")
    assert load_audio(path, offset=1.0, duration=0.5).size == SR // 2
    assert np.abs(load_audio(path, offset=1.0, duration=0.5)).max() > 0.4
    assert np.abs(load_audio(path, duration=0.9)).max() == 0.0


def test_audio_file_to_mel_reads_one_clip_from_the_offset(tmp_path):
    config = replace(DEFAULT_AUDIO, frames=64)
    audio = np.concatenate([np.zeros(SR, np.float32), _tone(500.0, 2.0)])
    path = tmp_path / "clip.wav"
    sf.write(path, audio, SR, subtype="FLOAT")
    late = audio_file_to_mel(path, config, offset=1.0)
    early = audio_file_to_mel(path, config)
    assert late.shape == early.shape == (80, 64)
    assert np.all(early[:, :60] == -1.0)  # the first second is silence
    assert late[:, 4:60].max() > 0.0  # from the offset on, the tone
    short = audio_file_to_mel(path, replace(DEFAULT_AUDIO, frames=200), offset=2.5)
    assert np.all(short[:, 60:] == -1.0)  # past the end of the file: padded with silence


def test_configs_round_trip_through_dicts():
    config = AudioConfig(sample_rate=16000, frames=10)
    assert AudioConfig.from_dict({**config.to_dict(), "unknown": 1}) == config
    assert config.to_dict()["sample_rate"] == 16000
    norm = MelNormalization(-9.0, 1.5)
    assert MelNormalization.from_dict({"log_min": "-9", "log_max": 1.5}) == norm
    assert norm.to_dict() == {"log_min": -9.0, "log_max": 1.5}
    assert AudioConfig(frames=100).clip_samples == 25600
    assert AudioConfig(frames=100).clip_seconds == pytest.approx(25600 / 22050)
