"""export.hf_shelf: a calibrated cut above the Mel's top band, inside the vocoder graph."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.audio_config import DEFAULT_AUDIO
from engine import Engine
from export.errors import ExportError
from export.hf_shelf import (
    ShelvedGenerator,
    calibrate,
    energy_above_db,
    shelf_taps,
    torch_vocode,
)
from export.replace_vocoder import ReplaceOptions, main, replace_vocoder
from training.vocoder.config import TINY
from training.vocoder.generator import Generator

SR = DEFAULT_AUDIO.sample_rate


def band_gain_db(taps: np.ndarray, hz: float) -> float:
    response = np.fft.rfft(taps, 8192)
    return float(20 * np.log10(abs(response[int(round(hz / (SR / 2) * 4096))])))


def test_the_fir_keeps_the_mel_band_and_cuts_above_it():
    taps = shelf_taps(-6.0, DEFAULT_AUDIO)
    assert taps.size % 2 == 1 and np.allclose(taps, taps[::-1])  # linear phase, zero delay
    assert abs(band_gain_db(taps, 1000)) < 0.1 and abs(band_gain_db(taps, 6000)) < 0.3
    assert band_gain_db(taps, 10000) == pytest.approx(-6.0, abs=0.3)
    with pytest.raises(ValueError, match="only cuts"):
        shelf_taps(3.0, DEFAULT_AUDIO)


def test_calibration_measures_what_the_vocoder_adds_above_fmax():
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    clips = [(0.3 * np.sin(2 * np.pi * f * t) + 0.001 * rng.standard_normal(SR)).astype(np.float32)
             for f in (220, 330)]
    hiss = 0.02 * np.random.default_rng(1).standard_normal(SR)

    def hissing_vocoder(mel: np.ndarray | None) -> np.ndarray:  # the tone back, plus hiss
        return (clips[0] + hiss).astype(np.float32)

    calibration = calibrate(hissing_vocoder, clips[:1], DEFAULT_AUDIO)
    excess = energy_above_db(hissing_vocoder(None), DEFAULT_AUDIO) - energy_above_db(
        clips[0], DEFAULT_AUDIO)
    assert calibration.excess_db_mean == pytest.approx(excess, abs=0.5) and excess > 10
    assert calibration.gain_db == -calibration.excess_db_mean and calibration.clips == 1
    honest = calibrate(lambda mel: clips[0], clips[:1], DEFAULT_AUDIO)
    assert honest.gain_db == 0.0  # nothing invented, nothing cut (and never a boost)
    with pytest.raises(ValueError, match="real music"):
        calibrate(hissing_vocoder, [], DEFAULT_AUDIO)


class WhiteNoise(torch.nn.Module):
    """A stand-in generator: white noise of the Mel's length in samples."""

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(mel.shape[0], 1, mel.shape[-1] * DEFAULT_AUDIO.hop_length,
                            generator=torch.Generator().manual_seed(0))
        return noise


def test_the_shelved_generator_cuts_what_lies_above_fmax_and_nothing_below():
    shelved = ShelvedGenerator(WhiteNoise(), shelf_taps(-9.0, DEFAULT_AUDIO)).eval()
    mel = np.zeros((80, 200), dtype=np.float32)
    plain, cut = torch_vocode(WhiteNoise())(mel), torch_vocode(shelved)(mel)
    assert plain.shape == cut.shape
    drop = energy_above_db(plain, DEFAULT_AUDIO) - energy_above_db(cut, DEFAULT_AUDIO)
    assert drop == pytest.approx(9.0 * 0.87, abs=1.0)  # the first 400 Hz above fmax: transition
    below = np.fft.rfft(plain)[: int(7000 / (SR / 2) * (plain.size // 2))]
    below_cut = np.fft.rfft(cut)[: below.size]
    assert np.abs(below_cut).sum() / np.abs(below).sum() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="odd number"):
        ShelvedGenerator(WhiteNoise(), np.ones(4))


@pytest.fixture
def music_dataset(tiny_dataset, tmp_path):
    """The tiny data set with its clips' audio written beside it (tones, as its Mels say)."""
    import shutil

    import soundfile as sf

    root = shutil.copytree(tiny_dataset, tmp_path / "music")
    t = np.arange(DEFAULT_AUDIO.clip_samples) / SR
    for clip in range(4):
        tone = 0.3 * np.sin(2 * np.pi * 110.0 * 2**clip * t)
        sf.write(root / f"clip{clip}.wav", tone.astype(np.float32), SR)
    return root


def test_a_shelved_vocoder_goes_into_the_bundle_and_streams_exactly(tiny_bundle, music_dataset,
                                                                    tmp_path, capsys):
    tiny_dataset = music_dataset
    out = tmp_path / "bundle"
    report = replace_vocoder(ReplaceOptions(tiny_bundle, _tiny_generator(tmp_path), out,
                                            music=tiny_dataset, check_clips=1, max_mcd_db=100.0,
                                            hf_shelf="-6", fp16=False))
    assert report.shelf is not None and report.shelf.gain_db == -6.0
    written = json.loads((out / "manifest.json").read_text())
    assert written["provenance"]["vocoder"]["hf_shelf"]["gain_db"] == -6.0
    engine = Engine.load(out, providers="cpu", warmup=False, intra_op_threads=1)
    mel = np.random.default_rng(3).normal(-5, 1, (80, 96)).astype(np.float32)
    whole = engine.vocode(mel)
    joined = np.concatenate(list(engine.vocode_stream(mel, chunk_frames=32)))
    np.testing.assert_allclose(joined, whole, atol=1e-4)
    calibrated = replace_vocoder(ReplaceOptions(tiny_bundle, _tiny_generator(tmp_path),
                                                tmp_path / "auto", music=tiny_dataset,
                                                max_mcd_db=100.0, hf_shelf="auto",
                                                shelf_clips=2))
    assert calibrated.shelf.clips == 2 and calibrated.shelf.gain_db <= 0
    with pytest.raises(ExportError, match="pass --music"):
        replace_vocoder(ReplaceOptions(tiny_bundle, _tiny_generator(tmp_path), tmp_path / "x",
                                       hf_shelf="auto"))
    with pytest.raises(ExportError, match="boost"):
        replace_vocoder(ReplaceOptions(tiny_bundle, _tiny_generator(tmp_path), tmp_path / "y",
                                       hf_shelf="4"))
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert main(["--bundle", str(tiny_bundle), "--vocoder", str(_tiny_generator(tmp_path)),
                 "--out", str(tmp_path / "cli"), "--hf-shelf", "-3"]) == 0
    assert "shelf -3.00 dB above 8000 Hz" in capsys.readouterr().out


def _tiny_generator(tmp_path):
    from training.vocoder.checkpoint import atomic_save_tensors

    path = tmp_path / "gen" / "checkpoints" / "generator.safetensors"
    if not path.is_file():
        torch.manual_seed(5)
        atomic_save_tensors(Generator(TINY).state_dict(), path)
        path.with_suffix(".json").write_text(json.dumps({"hifigan": TINY.to_dict(), "step": 1}))
    return path.parent.parent
