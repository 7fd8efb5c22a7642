"""The token decoder's repetition prior (issue 9: a beat): the step, PyTorch generation, export
and the engine's ONNX loop against the PyTorch step."""

from pathlib import Path

import numpy as np
import pytest
import torch

from core.beat import lag_frames, onset_lagged, steady_clock
from tests.training.test_token_beat_guidance import (
    _config,
    _guided_tiny,
    replay_engine_piece,
    with_decoder_fields,
)
from training.models.token_decoder import gumbel_noise
from training.trainer import train


def _one_step(decoder, lagged, repeat, seed: int = 3):
    cond = decoder.condition(torch.randn(1, 32, generator=torch.Generator().manual_seed(seed)))
    previous, h, c = decoder.initial_state(1)
    noise = gumbel_noise((1, 2, 16), torch.Generator().manual_seed(seed))
    beat = torch.from_numpy(steady_clock(1, 100.0))
    with torch.no_grad():
        codes, *_ = decoder.step(previous, cond, h, c, noise, torch.tensor([1.0, 1.0]), beat,
                                 None, lagged, repeat)
    return codes


def test_a_strong_prior_picks_the_lagged_code_and_none_changes_nothing():
    decoder = _guided_tiny().decoder
    free = _one_step(decoder, None, None)
    lagged = (free + 5) % 16  # codes the free step did not pick
    forced = _one_step(decoder, lagged, torch.tensor([200.0, 200.0]))
    torch.testing.assert_close(forced, lagged, rtol=0, atol=0)
    none_yet = torch.full_like(lagged, decoder.bos)  # no frame that far back yet
    torch.testing.assert_close(_one_step(decoder, none_yet, torch.tensor([200.0, 200.0])), free,
                               rtol=0, atol=0)
    torch.testing.assert_close(_one_step(decoder, lagged, torch.tensor([0.0, 0.0])), free,
                               rtol=0, atol=0)


def _onsets_repeat(codes: torch.Tensor, lag: int) -> tuple[int, int]:
    """(onsets one lag back that came back, onsets one lag back) over codes [frames, stages]."""
    back, now = codes[1:-lag], codes[1 + lag:]
    onset = back != codes[:-lag - 1]
    return int((onset & (now == back)).sum()), int(onset.sum())


def test_a_strong_prior_repeats_every_onset_one_lag_later():
    decoder = _guided_tiny().decoder
    h = torch.randn(2, 32, generator=torch.Generator().manual_seed(1))
    lag = lag_frames(400.0, 1.0)
    assert 1 < lag < 30
    mel, codes = decoder.sample(h, seed=2, frames=80, repeat=(200.0, 200.0), repeat_beats=1.0,
                                tempo_bpm=400.0)
    torch.testing.assert_close(mel, decoder.generate(h, seed=2, frames=80, repeat=(200.0, 200.0),
                                                     tempo_bpm=400.0), rtol=0, atol=0)
    for row in codes:
        came_back, onsets = _onsets_repeat(row, lag)
        assert onsets > 10 and came_back == onsets
    _, free = decoder.sample(h, seed=2, frames=80)
    came_back, onsets = _onsets_repeat(free[0], lag)
    assert came_back < onsets
    with torch.no_grad():  # the lag follows the predicted tempo by default
        tempo = float(decoder.tempo_of(decoder.condition(h[:1]))[0])
    _, predicted = decoder.sample(h[:1], seed=2, frames=120, repeat=(200.0, 200.0))
    came_back, onsets = _onsets_repeat(predicted[0], lag_frames(tempo, 1.0))
    assert came_back == onsets
    with pytest.raises(ValueError, match="one repetition strength per stage"):
        decoder.generate(h, frames=4, repeat=(1.0,))


def test_onset_lagged_keeps_only_codes_that_were_new():
    history = np.array([[1, 7], [1, 8], [2, 8], [2, 8], [3, 9]])
    none = 16
    np.testing.assert_array_equal(onset_lagged(history, 1, 2, none), [[none, none]])
    np.testing.assert_array_equal(onset_lagged(history, 2, 2, none), [[1, 7]])  # the first frame
    np.testing.assert_array_equal(onset_lagged(history, 3, 2, none), [[none, 8]])
    np.testing.assert_array_equal(onset_lagged(history, 4, 2, none), [[2, none]])
    np.testing.assert_array_equal(onset_lagged(history, 5, 2, none), [[none, none]])


def test_lag_frames_counts_hops_per_beat():
    assert lag_frames(120.0, 1.0) == 43  # 0.5 s at 22 050 Hz / 256
    assert lag_frames(120.0, 2.0) == 86
    with pytest.raises(ValueError, match="positive"):
        lag_frames(0.0, 1.0)


@pytest.fixture(scope="module")
def repeat_run(tiny_dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("repeat-run") / "run"
    train(_config(tiny_dataset, out, epochs=1, condition_dropout=0.0))
    return out


@pytest.fixture(scope="module")
def repeat_bundle(repeat_run, tmp_path_factory) -> Path:
    from export.pipeline import ExportOptions, export_bundle

    out = tmp_path_factory.mktemp("repeat-bundle") / "bundle"
    export_bundle(ExportOptions(checkpoint=repeat_run, out=out, vocoder="griffin_lim",
                                temperatures=(1.0, 0.9), repeat=(3.0, 2.0), repeat_beats=2.0))
    return out


def test_the_engine_samples_what_the_torch_decoder_samples_with_the_prior(repeat_bundle,
                                                                         repeat_run):
    from core.mel import denormalize
    from engine.bundle import Bundle
    from engine.engine import Engine
    from export.checkpoint import load_run

    spec = Bundle.open(repeat_bundle).manifest.decoder
    assert (spec.repeat, spec.repeat_beats) == ((3.0, 2.0), 2.0)
    engine = Engine.load(repeat_bundle, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (200, 40, 60), np.uint8))
    text = engine.encode_text("Art Commentary: a red room. Painting Emotion: excitement.")
    mel = engine.generate_mel(image, text, seed=9)
    bpm = engine.tempo(image, text)
    lag = lag_frames(bpm, 2.0)

    run = load_run(repeat_run)
    replayed = replay_engine_piece(run.model(), image, text, 9, torch.tensor([1 / 1.0, 1 / 0.9]),
                                   lag, torch.tensor([3.0, 2.0]),
                                   clock=torch.from_numpy(steady_clock(896, bpm)))
    np.testing.assert_allclose(mel, denormalize(replayed, run.mel_norm), atol=1e-4)


def test_the_prior_needs_a_tempo_head_and_a_strength_per_stage(repeat_run, tiny_dataset,
                                                                tmp_path):
    from export.errors import ExportError
    from export.pipeline import ExportOptions, export_bundle

    with pytest.raises(ExportError, match="one strength per codebook stage"):
        export_bundle(ExportOptions(checkpoint=repeat_run, out=tmp_path / "a",
                                    vocoder="griffin_lim", repeat=(3.0,)))
    plain = tmp_path / "plain"
    train(_config(tiny_dataset, plain, epochs=1, condition_dropout=0.0, beat_clock=False))
    with pytest.raises(ExportError, match="tempo head"):
        export_bundle(ExportOptions(checkpoint=plain, out=tmp_path / "b", vocoder="griffin_lim",
                                    repeat=(3.0, 2.0)))


def test_the_export_command_line_checks_the_prior():
    import argparse

    from export.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--checkpoint", "r", "--out", "b", "--repeat", "3,2",
                              "--repeat-beats", "2"])
    assert (args.repeat, args.repeat_beats) == ((3.0, 2.0), 2.0)
    for bad in (["--repeat", "x"], ["--repeat", "-1,2"], ["--repeat-beats", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["--checkpoint", "r", "--out", "b", *bad])


def test_a_tempo_head_fitted_onto_a_run_without_a_clock_sets_the_lag(tiny_dataset, tmp_path):
    from engine.engine import Engine
    from export.pipeline import ExportOptions, export_bundle
    from tests.training.test_token_decoder import tokens_config
    from training.checkpoint import load_sidecar, load_tensors
    from training.tempo_head import fit_tempo_head

    plain = tmp_path / "plain"
    train(tokens_config(tiny_dataset, plain, epochs=1))
    from export.errors import ExportError

    with pytest.raises(ExportError, match="tempo head"):
        export_bundle(ExportOptions(checkpoint=plain, out=tmp_path / "refused",
                                    vocoder="griffin_lim", repeat=(8.0, 5.0)))
    report = fit_tempo_head(plain, tmp_path / "with-head", bins=6, steps=50)
    assert len(report.bins) == 6 and report.train_rows > 0 and report.val_rows > 0
    for value in (report.train_accuracy, report.val_accuracy, report.majority_val_accuracy):
        assert 0.0 <= value <= 1.0
    assert report.val_within_one_bin >= report.val_accuracy
    folder = tmp_path / "with-head" / "checkpoints"
    sidecar = load_sidecar(folder, "best")
    assert sidecar["model_config"]["tokens"]["tempo_bpm"] == pytest.approx(report.bins)
    assert sidecar["model_config"]["tokens"]["beat_features"] == 0
    old = load_tensors(plain / "checkpoints" / "best.safetensors")
    new = load_tensors(folder / "best.safetensors")
    assert set(new) - set(old) == {"decoder.tempo_head.weight", "decoder.tempo_head.bias"}
    for name, tensor in old.items():  # the run itself stays frozen
        torch.testing.assert_close(new[name], tensor, rtol=0, atol=0, msg=name)
    with pytest.raises(ValueError, match="tempo head already"):
        fit_tempo_head(tmp_path / "with-head", tmp_path / "again", bins=6, steps=1)

    bundle = tmp_path / "bundle"
    export_bundle(ExportOptions(checkpoint=tmp_path / "with-head", out=bundle,
                                vocoder="griffin_lim", repeat=(8.0, 5.0)))
    engine = Engine.load(bundle, warmup=False)
    assert engine.manifest.decoder.beat_features == 0 and engine.manifest.decoder.repeats
    image = engine.encode_image(np.full((48, 64, 3), (90, 90, 200), np.uint8))
    text = engine.encode_text("Art Commentary: a blue sea. Painting Emotion: awe.")
    assert engine.tempo(image, text) in report.bins
    mel = engine.generate_mel(image, text, seed=1)
    assert mel.shape == (80, 896) and np.isfinite(mel).all()


def test_table_iv_samples_with_the_prior_the_bundle_was_exported_with(repeat_run):
    from core.mel import denormalize
    from training.evaluation.data import load_model
    from training.evaluation.evaluate import generate_log_mels

    loaded = load_model(repeat_run)
    image, text = torch.randn(3, 32), torch.randn(3, 32)
    sampling = {"temperatures": (1.0, 0.8), "repeat": (8.0, 5.0), "repeat_beats": 1.0}
    with_prior = generate_log_mels(loaded, image, text, "full", 0, 2, sampling)
    with torch.no_grad():
        expected = loaded.model.decoder.generate(loaded.model.projector(image[:2], text[:2]),
                                                 seed=0, **sampling)
    np.testing.assert_allclose(with_prior[:2], denormalize(expected.numpy(), loaded.mel_norm),
                               atol=1e-5)
    plain = generate_log_mels(loaded, image, text, "full", 0, 2)
    assert with_prior.shape == plain.shape == (3, 80, 896)
    assert not np.allclose(with_prior, plain)


def test_a_manifest_with_a_broken_prior_is_refused_clearly(repeat_bundle, tmp_path):
    from engine.engine import Engine
    from engine.errors import EngineError

    broken = with_decoder_fields(repeat_bundle, tmp_path / "broken", repeat_beats=0.0)
    engine = Engine.load(broken, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (200, 40, 60), np.uint8))
    text = engine.encode_text("Art Commentary: a red room.")
    with pytest.raises(EngineError, match="positive lag in beats"):
        engine.generate_mel(image, text, seed=1)
