"""`main.py eval` end to end on a tiny data set and a tiny checkpoint written here."""

import csv
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

import training.encoders.torchvision_ops  # noqa: F401  (before conftest imports open_clip)
import training.evaluation.evaluate as evaluate_module
from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM
from core.mel import mel_filter_bank
from tests.conftest import TINY_CLIP, register_tiny_open_clip, write_tiny_dataset
from training.checkpoint import save_checkpoint
from training.encoders import EncoderSpec
from training.evaluation.data import EvalRow, load_model, reference_audio, reference_log_mel
from training.evaluation.evaluate import EvalConfig, evaluate, generate_log_mels
from training.evaluation.musicnn import MusicnnEmbedder
from training.evaluation.report import write_all
from training.evaluation.vocoders import Vocoder
from training.features import cache_embeddings
from training.models import Art2Music, Art2MusicConfig

REPO = Path(__file__).resolve().parents[2]
FAST = dict(save_audio=1)


def fast_vocoder() -> Vocoder:
    """Deterministic zero-phase inversion (~30 ms): the real Griffin-Lim runs in the CLI test."""
    basis = np.linalg.pinv(mel_filter_bank(DEFAULT_AUDIO))

    def vocode(log_mel: np.ndarray) -> np.ndarray:
        magnitude = np.maximum(basis @ np.exp(log_mel), 0.0).astype(np.complex64)
        return librosa.istft(magnitude, hop_length=DEFAULT_AUDIO.hop_length,
                             n_fft=DEFAULT_AUDIO.n_fft,
                             length=log_mel.shape[-1] * DEFAULT_AUDIO.hop_length)

    return Vocoder("zero-phase test vocoder", vocode)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """conftest's tiny data set plus the reference WAVs its manifest names (2 test rows)."""
    register_tiny_open_clip()
    root = write_tiny_dataset(tmp_path_factory.mktemp("eval-data"), n_clips=4, rows_per_clip=2)
    t = np.arange(DEFAULT_AUDIO.clip_samples) / DEFAULT_AUDIO.sample_rate
    for clip in range(4):
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * (clip + 1) * 0.3 * t)
        audio = 0.3 * envelope * np.sin(2 * np.pi * 110.0 * 2**clip * t)
        sf.write(root / f"clip{clip}.wav", audio.astype(np.float32), DEFAULT_AUDIO.sample_rate)
    spec = EncoderSpec.parse(TINY_CLIP)
    cache_embeddings(root, spec, spec)
    return root


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A tiny untrained Art2Music checkpoint in the `main.py train` layout."""
    torch.manual_seed(0)
    config = Art2MusicConfig.tiny(image_dim=32, text_dim=32, frames=DEFAULT_AUDIO.frames)
    spec = EncoderSpec.parse(TINY_CLIP).to_dict()
    run = tmp_path_factory.mktemp("eval-run")
    save_checkpoint(run / "checkpoints", "best", Art2Music(config), {
        "model_config": config.to_dict(), "encoders": {"image": spec, "text": spec},
        "audio": DEFAULT_AUDIO.to_dict(), "mel_norm": DEFAULT_MEL_NORM.to_dict(),
        "epoch": 1, "step": 1, "val_loss": 1.0})
    return run


@pytest.fixture(scope="module")
def embedder() -> MusicnnEmbedder:
    return MusicnnEmbedder()


def test_all_modes_give_finite_metrics_in_table_iv_order(dataset, run_dir, embedder, tmp_path):
    config = EvalConfig(checkpoint=run_dir, data=dataset, out=tmp_path, limit=1, **FAST)
    result = evaluate(config, fast_vocoder(), embedder)
    assert [r.label for r in result.rows] == ["Baseline", "w/o Text", "w/o Image",
                                              "Full Multimodal Input"]
    for row in result.rows:
        assert row.clips == 1
        assert all(np.isfinite(v) for v in (row.mcd, row.fad, row.lsd, row.lsd_mel, row.cosine))
        assert row.mcd > 0 and row.lsd > 0 and -1 <= row.cosine <= 1
    assert "musicnn MTT_musicnn penultimate" in result.info["embedding_model"]
    assert result.info["vocoder"] == "zero-phase test vocoder"
    assert "warning" in result.info  # 3 patch embeddings per set < 200 dimensions
    assert len(list((tmp_path / "audio").glob("*.wav"))) == 4  # save_audio=1 per mode


def test_random_baseline_is_reproducible_and_seeded(run_dir):
    loaded = load_model(run_dir)
    image, text = torch.randn(3, 32), torch.randn(3, 32)

    def generate(mode, seed, batch_size=3):
        return generate_log_mels(loaded, image, text, mode, seed, batch_size)

    first = generate("random", 0)
    assert first.shape == (3, 80, DEFAULT_AUDIO.frames)
    np.testing.assert_allclose(first, generate("random", 0, batch_size=1), atol=1e-4)
    assert not np.array_equal(first, generate("random", 1))
    np.testing.assert_array_equal(generate("full", 0), generate("full", 5))


def oracle_model(dataset: Path, offset: np.ndarray | float = 0.0) -> Callable[..., np.ndarray]:
    """A stand-in for ``generate_log_mels``: every row's own target Mel, plus ``offset``."""
    def generate(loaded, image, text, mode, seed, batch_size, sampling=None, primers=None,
                 sample_seed=0):
        rows = evaluate_module.read_eval_rows(dataset, "test")
        return np.stack([reference_log_mel(row, loaded.mel_norm) + offset for row in rows])

    return generate


def test_an_oracle_model_scores_perfectly(dataset, run_dir, embedder, tmp_path, monkeypatch):
    """Generated Mel = target Mel and reference = the same vocoder: every metric is ideal."""
    monkeypatch.setattr(evaluate_module, "generate_log_mels", oracle_model(dataset))
    config = EvalConfig(checkpoint=run_dir, data=dataset, out=tmp_path, modes=("full",),
                        reference="vocoded", **FAST)
    row = evaluate(config, fast_vocoder(), embedder).rows[0]
    assert row.mcd == 0.0 and row.lsd_mel == 0.0 and row.lsd == 0.0
    assert row.cosine == pytest.approx(1.0)
    assert row.fad == pytest.approx(0.0, abs=1e-3)


def test_a_known_mel_offset_gives_the_closed_form_mcd_and_mel_lsd(dataset, run_dir, embedder,
                                                                   tmp_path, monkeypatch):
    """Generated = target + ln 10 + 2c·cos(3π(m + ½)/80) on every frame of every clip. The
    constant is c₀ only (no MCD) but 20 dB of power; the cosine is Δc₃ = c. So
    MCD = (10 / ln 10)·√(2c²) and Mel LSD = (20 / ln 10)·√(ln² 10 + 2c²) (the cosine has mean 0
    and mean square ½ over the 80 bands)."""
    c = 0.1
    m = np.arange(80)
    offset = (math.log(10.0) + 2 * c * np.cos(3 * np.pi * (m + 0.5) / 80))[:, None]
    monkeypatch.setattr(evaluate_module, "generate_log_mels",
                        oracle_model(dataset, offset.astype(np.float32)))
    config = EvalConfig(checkpoint=run_dir, data=dataset, out=tmp_path, modes=("full",),
                        reference="vocoded", **FAST)
    row = evaluate(config, fast_vocoder(), embedder).rows[0]
    assert row.mcd == pytest.approx(0.614185, rel=1e-5)
    assert row.mcd == pytest.approx(10 / math.log(10) * math.sqrt(2 * c**2), rel=1e-5)
    assert row.lsd_mel == pytest.approx(20.0377, rel=1e-5)
    assert row.lsd_mel == pytest.approx(20 / math.log(10) * math.sqrt(math.log(10) ** 2 + 2 * c**2),
                                        rel=1e-5)
    assert row.mcd_std == pytest.approx(0.0, abs=1e-5) and row.clips == 2


def clip_of_each_test_row(dataset: Path) -> dict[bytes, np.ndarray]:
    """Target Mel (as bytes) → the WAV it was computed from, read with soundfile."""
    clips = {}
    for row in evaluate_module.read_eval_rows(dataset, "test"):
        audio, _ = sf.read(dataset / f"{row.audio_id}.wav", dtype="float32")
        clips[reference_log_mel(row, DEFAULT_MEL_NORM).tobytes()] = audio
    return clips


def test_a_silent_vocoder_scores_far_worse_than_an_ideal_one(dataset, run_dir, embedder,
                                                             tmp_path, monkeypatch):
    """With the original audio as reference, the vocoder's output is what LSD, FAD and cosine
    judge: an ideal vocoder (it renders each target Mel as the clip it came from) scores LSD 0
    and cosine 1, one that returns silence scores the closed-form LSD of silence, computed here
    with librosa: mean_t √(mean_f (10 log₁₀(P + ε) − 10 log₁₀ ε)²), ε = 1e-10."""
    monkeypatch.setattr(evaluate_module, "generate_log_mels", oracle_model(dataset))
    clips = clip_of_each_test_row(dataset)
    ideal = Vocoder("ideal", lambda log_mel: clips[np.ascontiguousarray(log_mel).tobytes()])
    silent = Vocoder("silent", lambda log_mel: np.zeros(log_mel.shape[-1] * 256, np.float32))
    config = EvalConfig(checkpoint=run_dir, data=dataset, out=tmp_path, modes=("full",),
                        reference="audio", **FAST)
    good = evaluate(config, ideal, embedder).rows[0]
    bad = evaluate(config, silent, embedder).rows[0]

    def lsd_of_silence(audio: np.ndarray) -> float:
        power = np.abs(librosa.stft(audio, n_fft=1024, hop_length=256, win_length=1024,
                                    window="hann", center=True)) ** 2
        level = 10 * np.log10(power.astype(np.float64) + 1e-10) + 100.0
        return float(np.sqrt(np.mean(level**2, axis=0)).mean())

    assert good.lsd == 0.0 and good.cosine == pytest.approx(1.0)
    assert bad.lsd == pytest.approx(np.mean([lsd_of_silence(a) for a in clips.values()]),
                                    rel=1e-4)
    assert bad.lsd > 10.0
    assert bad.fad > good.fad + 10.0 and bad.cosine < good.cosine - 0.1
    assert (bad.mcd, bad.lsd_mel) == (good.mcd, good.lsd_mel) == (0.0, 0.0)  # Mels: no vocoder


def test_report_files_name_the_embedding_model(dataset, run_dir, embedder, tmp_path):
    config = EvalConfig(checkpoint=run_dir, data=dataset, out=tmp_path,
                        modes=("full", "random"), limit=1, **FAST)
    paths = write_all(evaluate(config, fast_vocoder(), embedder), tmp_path)
    summary = json.loads(paths["json"].read_text())
    assert "musicnn" in summary["embedding_model"] and len(summary["results"]) == 2
    with open(paths["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [r["label"] for r in rows] == ["Baseline", "Full Multimodal Input"]
    assert all("musicnn" in r["embedding_model"] for r in rows)
    assert paths["png"].stat().st_size > 10_000


def test_missing_reference_audio_suggests_vocoded_reference(tmp_path):
    row = EvalRow(id="r", index=0, audio_id="a", mel_path=tmp_path / "m.npy",
                  audio_path=tmp_path / "missing.wav", audio_offset=0.0)
    with pytest.raises(FileNotFoundError, match="--reference vocoded"):
        reference_audio(row, DEFAULT_AUDIO)


def test_eval_cli_runs_as_a_subprocess(dataset, run_dir, tmp_path):
    out = tmp_path / "eval"
    command = [sys.executable, "main.py", "eval", "--checkpoint", str(run_dir), "--data",
               str(dataset), "--modes", "full,random", "--limit", "1", "--out", str(out),
               "--griffin-lim-iters", "2", "--save-audio", "0"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Full Multimodal Input" in result.stdout and "MTT_musicnn" in result.stdout
    for name in ("metrics.csv", "metrics.json", "metrics.png"):
        assert (out / name).exists()
