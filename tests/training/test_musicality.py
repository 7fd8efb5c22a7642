"""The musicality yardstick of issue 9: known answers of signals whose musical content is known
from outside the code (a held tone, white noise, a 120 BPM click track, a C-major arpeggio), the
painting-dependence of pieces that do not line up, and the report of `main.py eval --bundle`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import main
from core.audio_config import DEFAULT_AUDIO
from core.mel import log_mel
from training.evaluation import musicality as m

REPO = Path(__file__).resolve().parents[2]
SR = DEFAULT_AUDIO.sample_rate


def tone(frequency: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return (0.3 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)


def test_a_held_tone_does_not_move(noise):
    held = m.measure(tone(440.0, 6.0))
    assert held.spectral_flux < 0.2 * m.spectral_flux(log_mel(noise))
    assert held.smoothed_flux < 0.01
    assert held.chroma_change == 0.0 and held.band_change == 0.0
    assert held.pitch_class_entropy == 0.0  # one pitch class (A) dominates every frame
    assert held.spectral_flatness < 0.01


def test_white_noise_is_flat_and_flickers_at_issue_9s_values(noise):
    measures = m.measure(noise)
    assert measures.spectral_flux == pytest.approx(0.267, abs=0.02)  # issue 9, nats per frame
    assert measures.smoothed_flux == pytest.approx(0.160, abs=0.02)  # MODEL_NOTES
    assert measures.onset_strength == pytest.approx(0.87, abs=0.1)  # issue 9
    assert measures.spectral_flatness > 0.4
    assert measures.chroma_change > 0.5 and measures.band_change > 0.5
    assert measures.pitch_class_entropy > 3.0  # log2(12) = 3.58 for uniform pitch classes
    assert measures.onset_autocorrelation < 0.25  # no beat


def test_a_click_track_at_120_bpm_correlates_at_half_a_second():
    click = np.zeros(6 * SR, np.float32)
    burst = (0.8 * np.hanning(64) * np.sin(2 * np.pi * 2000 * np.arange(64) / SR))
    for start in range(0, click.size - 64, SR // 2):
        click[start:start + 64] = burst
    lags, values = m.onset_autocorrelation_curve(m.onset_envelope(click))
    assert lags[0] >= 0.25 and lags[-1] <= 1.5
    assert values[np.argmin(np.abs(lags - 0.5))] > 0.6  # the beat period
    assert values[np.argmin(np.abs(lags - 0.75))] < 0.1  # half-way between beats
    assert m.measure(click).onset_autocorrelation > 0.6


def test_a_c_major_arpeggio_spreads_over_three_pitch_classes():
    note = 0.25  # seconds
    arpeggio = np.concatenate([tone(f, note) for _ in range(8) for f in (261.63, 329.63, 392.0)])
    measures = m.measure(arpeggio)
    assert measures.pitch_class_entropy == pytest.approx(math.log2(3), abs=0.1)
    one_change_per_note = DEFAULT_AUDIO.hop_length / (note * SR)
    assert measures.chroma_change == pytest.approx(one_change_per_note, rel=0.3)
    histogram = m.describe(arpeggio).chroma_histogram
    assert set(np.argsort(histogram)[-3:]) == {0, 4, 7}  # C, E, G


def test_flux_of_a_ramp_is_its_slope_and_the_smoothed_flux_its_rise_over_a_tenth_of_a_second():
    ramp = np.tile(0.01 * np.arange(200, dtype=np.float32), (DEFAULT_AUDIO.n_mels, 1))
    assert m.spectral_flux(ramp) == pytest.approx(0.01, rel=1e-4)
    lag = round(0.1 * SR / DEFAULT_AUDIO.hop_length)
    assert lag == 9
    assert m.smoothed_flux(ramp) == pytest.approx(0.01 * lag, rel=1e-4)
    assert m.band_change(ramp) == 0.0


def test_a_mel_alone_gives_the_mel_measures_and_nan_for_the_audio_ones():
    mel = np.random.default_rng(1).normal(-4, 1, (DEFAULT_AUDIO.n_mels, 100)).astype(np.float32)
    measures = m.measure(log_mel=mel)
    assert measures.spectral_flux > 0 and math.isnan(measures.onset_strength)
    assert measures.to_dict()["onset_strength"] is None
    summary = m.aggregate([measures, m.measure(log_mel=mel[:, ::-1])])
    assert summary["spectral_flux"]["count"] == 2 and summary["onset_strength"]["mean"] is None
    with pytest.raises(ValueError, match="neither"):
        m.measure()
    with pytest.raises(ValueError, match="shape"):
        m.measure(log_mel=mel[:10])


def test_painting_dependence_compares_paintings_against_seeds_of_one_painting():
    def piece(level: float, pitch_class: int) -> m.PieceDescriptors:
        return m.PieceDescriptors(np.full(4, level), np.eye(12)[pitch_class])

    result = m.painting_dependence({"a": [piece(0.0, 0), piece(0.1, 0)],
                                    "b": [piece(1.0, 7), piece(1.1, 7)]})
    assert result.within["long_term_spectrum"] == pytest.approx(0.1)
    assert result.between["long_term_spectrum"] == pytest.approx(1.0)  # 1, 1.1, 0.9, 1
    assert result.ratio["long_term_spectrum"] == pytest.approx(10.0)
    assert result.between["chroma_histogram"] == 1.0 and result.within["chroma_histogram"] == 0
    assert (result.pairs_between, result.pairs_within, result.pieces) == (4, 2, 4)
    one_each = m.painting_dependence([[piece(0.0, 0)], [piece(0.5, 0)]])
    assert one_each.within["long_term_spectrum"] is None and one_each.ratio == {
        "long_term_spectrum": None, "chroma_histogram": None}


def test_long_term_spectrum_is_the_time_mean_of_the_normalised_mel():
    silence = np.full((DEFAULT_AUDIO.n_mels, 50), math.log(DEFAULT_AUDIO.log_floor), np.float32)
    assert np.allclose(m.describe(log_mel=silence).long_term_spectrum, -1.0)
    assert m.describe(log_mel=silence).chroma_histogram is None


def test_real_clips_come_from_a_folder_or_a_data_sets_split(tmp_path):
    from training.evaluation.musicality_report import dataset_clips, folder_clips

    folder = tmp_path / "music"
    folder.mkdir()
    for name, frequency in (("a", 220.0), ("b", 330.0)):
        sf.write(folder / f"{name}.wav", tone(frequency, 1.0), SR)
    clips = list(folder_clips(folder, DEFAULT_AUDIO))
    assert [name for name, _ in clips] == ["a", "b"]
    assert all(clip.size == DEFAULT_AUDIO.clip_samples for _, clip in clips)  # zero-padded
    manifest = [{"id": f"r{i}", "audio_id": audio_id, "audio_path": str(folder / f"{audio_id}.wav"),
                 "audio_offset": 0.0, "mel_path": "unused.npy", "split": split}
                for i, (audio_id, split) in enumerate((("a", "test"), ("a", "test"),
                                                       ("b", "test"), ("b", "train")))]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in manifest))
    assert [name for name, _ in dataset_clips(tmp_path, "test", DEFAULT_AUDIO)] == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="--real-music"):
        list(folder_clips(tmp_path / "mels", DEFAULT_AUDIO))


def test_more_than_one_seed_needs_a_decoder_that_takes_a_seed():
    from training.evaluation.musicality_report import composer

    class Deterministic:
        samples = False

        def compose(self, painting, comment="", seed=None):
            return (painting, comment)

    class Sampling:
        samples = True

        def compose(self, painting, comment="", seed=None):
            return (painting, comment, seed)

    class SeededButDeterministic(Sampling):
        samples = False

    for engine in (Deterministic(), SeededButDeterministic()):
        with pytest.raises(ValueError, match="--musicality-seeds 1"):
            composer(engine, seeds=2)
    assert composer(Deterministic(), seeds=1)("p", 0) == ("p", "")
    assert composer(Sampling(), seeds=3)("p", 2) == ("p", "", 2)


def test_main_eval_with_a_bundle_writes_the_musicality_report(tiny_bundle, tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    for name, frequency in (("low", 220.0), ("high", 440.0)):
        sf.write(music / f"{name}.wav", tone(frequency, 2.0), SR)
    out = tmp_path / "eval"
    command = [sys.executable, "main.py", "eval", "--bundle", str(tiny_bundle), "--out", str(out),
               "--limit", "2", "--real-music", str(music)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "spectral_flux" in result.stdout
    report = json.loads((out / "musicality" / "musicality.json").read_text())
    assert report["generated_pieces"] == 2 and report["real_clips"] == 2
    assert set(report["summary"]["generated"]) == set(m.MEASURES)
    assert report["summary"]["real"]["chroma_change"]["mean"] == 0.0  # held tones
    assert report["fad"]["value"] is not None and report["fad"]["real_clips"] == 2
    assert [p["kind"] for p in report["pieces"]] == ["generated"] * 2 + ["real"] * 2
    for name in ("musicality.csv", "musicality_summary.csv", "mel_grid.png"):
        assert (out / "musicality" / name).stat().st_size > 0
    # in this process: tests/test_main_cli.py runs `main.py eval --help` itself
    with pytest.raises(SystemExit) as exited:
        main.main(["eval", "--help"])
    assert exited.value.code == 0 and "--no-musicality" in capsys.readouterr().out
