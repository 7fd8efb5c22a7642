"""The palette prior (issue 8: the painting weights which sounds a piece draws from): the step,
the head fitted on a frozen run, export, and the engine's ONNX loop against the PyTorch step."""

from pathlib import Path

import numpy as np
import pytest
import torch

from core.beat import lag_frames
from tests.training.test_token_beat_guidance import (
    _guided_tiny,
    replay_engine_piece,
    with_decoder_fields,
)
from tests.training.test_token_decoder import tokens_config
from training.models.token_decoder import gumbel_noise
from training.palette_head import code_histograms, fit_palette_head, soft_cross_entropy
from training.tempo_head import fit_tempo_head
from training.trainer import train


def _first_codes(decoder, palette, strength, seed: int = 3) -> torch.Tensor:
    cond = decoder.condition(torch.randn(4, 32, generator=torch.Generator().manual_seed(seed)))
    previous, h, c = decoder.initial_state(4)
    noise = gumbel_noise((4, 2, 16), torch.Generator().manual_seed(seed))
    with torch.no_grad():
        codes, *_ = decoder.step(previous, cond, h, c, noise, torch.tensor([1.0, 1.0]), None,
                                 None, None, None, palette, strength)
    return codes


def test_a_strong_palette_picks_its_code_for_stage_one_only_and_none_changes_nothing():
    decoder = _guided_tiny(beat=False).decoder
    free = _first_codes(decoder, None, None)
    favourite = (free[:, :1] + 7) % 16  # codes the free step did not pick, one per row
    palette = torch.log_softmax(torch.nn.functional.one_hot(favourite[:, 0], 16).float() * 50, -1)
    forced = _first_codes(decoder, palette, torch.tensor([5.0]))
    torch.testing.assert_close(forced[:, 0], favourite[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(_first_codes(decoder, palette, torch.tensor([0.0])), free,
                               rtol=0, atol=0)
    flat = torch.full((4, 16), -np.log(16.0))  # a uniform palette adds the same to every code
    torch.testing.assert_close(_first_codes(decoder, flat, torch.tensor([3.0])), free,
                               rtol=0, atol=0)


def test_code_histograms_are_smoothed_distributions_of_stage_one():
    codes = torch.tensor([[[1, 0], [1, 5], [3, 5]]])  # one clip, 3 frames, 2 stages
    histogram = code_histograms(codes, 4, smoothing=0.5)
    torch.testing.assert_close(histogram, torch.tensor([[0.5, 2.5, 0.5, 1.5]]) / 5.0)
    uniform = torch.full((1, 4), 0.25)
    assert float(soft_cross_entropy(uniform.log(), histogram)) >= float(
        soft_cross_entropy(histogram.log(), histogram))  # Gibbs: the target's own entropy


@pytest.fixture(scope="module")
def palette_runs(tiny_dataset, tmp_path_factory) -> tuple[Path, Path, object]:
    root = tmp_path_factory.mktemp("palette")
    train(tokens_config(tiny_dataset, root / "plain", epochs=1))
    fit_tempo_head(root / "plain", root / "tempo", bins=6, steps=30)
    report = fit_palette_head(root / "tempo", root / "palette", steps=40)
    return root / "tempo", root / "palette", report


def test_the_palette_head_is_fitted_on_a_frozen_run_and_reported(palette_runs):
    from training.checkpoint import load_sidecar, load_tensors

    tempo, palette, report = palette_runs
    assert report.codes == 16 and report.train_rows > 0 and report.held_out_rows > 0
    assert report.held_out_nats >= report.target_entropy_nats - 1e-5  # cross-entropy ≥ entropy
    assert np.isfinite([report.train_nats, report.mean_palette_held_out_nats]).all()
    sidecar = load_sidecar(palette / "checkpoints", "best")
    assert sidecar["model_config"]["tokens"]["palette_dim"] == 32
    assert sidecar["palette_head"]["held_out_nats"] == pytest.approx(report.held_out_nats)
    old = load_tensors(tempo / "checkpoints" / "best.safetensors")
    new = load_tensors(palette / "checkpoints" / "best.safetensors")
    assert set(new) - set(old) == {"decoder.palette_head.weight", "decoder.palette_head.bias",
                                   "decoder.palette_log_mean"}
    mean = new["decoder.palette_log_mean"].exp()  # a distribution over the codes
    assert float(mean.sum()) == pytest.approx(1.0, abs=1e-5) and bool((mean > 0).all())
    for name, tensor in old.items():  # the run itself stays frozen
        torch.testing.assert_close(new[name], tensor, rtol=0, atol=0, msg=name)
    assert (palette / "checkpoints" / "feelings_head.safetensors").exists() == (
        tempo / "checkpoints" / "feelings_head.safetensors").exists()
    with pytest.raises(ValueError, match="palette head already"):
        fit_palette_head(palette, palette.parent / "again", steps=1)


def test_the_engine_samples_what_the_torch_decoder_samples_with_the_palette(palette_runs,
                                                                           tmp_path):
    from core.mel import denormalize
    from engine.engine import Engine
    from export.checkpoint import load_run
    from export.pipeline import ExportOptions, export_bundle

    _, palette_run, _ = palette_runs
    bundle = tmp_path / "bundle"
    export_bundle(ExportOptions(checkpoint=palette_run, out=bundle, vocoder="griffin_lim",
                                temperatures=(1.0, 0.9), repeat=(3.0, 2.0), palette=2.0))
    engine = Engine.load(bundle, warmup=False)
    assert engine.manifest.decoder.palette == 2.0
    image = engine.encode_image(np.full((48, 64, 3), (30, 160, 60), np.uint8))
    text = engine.encode_text("Art Commentary: a green field. Painting Emotion: contentment.")
    mel = engine.generate_mel(image, text, seed=4)
    lag = lag_frames(engine.tempo(image, text), 1.0)

    run = load_run(palette_run)
    replayed = replay_engine_piece(run.model(), image, text, 4, torch.tensor([1 / 1.0, 1 / 0.9]),
                                   lag, torch.tensor([3.0, 2.0]), palette=True,
                                   palette_strength=2.0)
    np.testing.assert_allclose(mel, denormalize(replayed, run.mel_norm), atol=1e-4)


def test_the_palette_needs_a_head_and_a_bundle_without_it_has_no_palette_input(palette_runs,
                                                                                tmp_path):
    from engine.engine import Engine
    from export.errors import ExportError
    from export.pipeline import ExportOptions, export_bundle

    tempo, palette_run, _ = palette_runs
    with pytest.raises(ExportError, match="palette head"):
        export_bundle(ExportOptions(checkpoint=tempo, out=tmp_path / "refused",
                                    vocoder="griffin_lim", palette=1.0))
    bundle = tmp_path / "off"
    export_bundle(ExportOptions(checkpoint=palette_run, out=bundle, vocoder="griffin_lim"))
    engine = Engine.load(bundle, warmup=False)
    assert engine.manifest.decoder.palette == 0.0
    step = engine.manifest.graphs[engine.manifest.decoder.step_graph]
    assert "palette" not in [t.name for t in step.inputs]


def test_the_export_command_line_checks_the_palette_strength():
    import argparse

    from export.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--checkpoint", "r", "--out", "b", "--palette", "1.5"])
    assert args.palette == 1.5
    for bad in (["--palette", "x"], ["--palette", "-1"], ["--palette", "1,2"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["--checkpoint", "r", "--out", "b", *bad])


def test_table_iv_samples_with_the_palette_of_each_modes_image(palette_runs):
    from core.mel import denormalize
    from training.evaluation.data import load_model
    from training.evaluation.evaluate import generate_log_mels

    loaded = load_model(palette_runs[1])
    image, text = torch.randn(3, 32), torch.randn(3, 32)
    sampling = {"temperatures": (1.0, 0.8), "palette_strength": 4.0}
    with_palette = generate_log_mels(loaded, image, text, "full", 0, 2, sampling)
    decoder = loaded.model.decoder
    with torch.no_grad():
        expected = decoder.generate(loaded.model.projector(image[:2], text[:2]), seed=0,
                                    temperatures=(1.0, 0.8), palette=decoder.palette(image[:2]),
                                    palette_strength=4.0)
    np.testing.assert_allclose(with_palette[:2], denormalize(expected.numpy(), loaded.mel_norm),
                               atol=1e-5)
    plain = generate_log_mels(loaded, image, text, "full", 0, 2, {"temperatures": (1.0, 0.8)})
    assert not np.allclose(with_palette, plain)


def test_a_manifest_asking_for_a_palette_the_graphs_lack_is_refused_clearly(palette_runs,
                                                                           tmp_path):

    from engine.engine import Engine
    from engine.errors import EngineError
    from export.pipeline import ExportOptions, export_bundle

    bundle = tmp_path / "no-palette"
    export_bundle(ExportOptions(checkpoint=palette_runs[1], out=bundle, vocoder="griffin_lim"))
    with_decoder_fields(bundle, bundle, palette=1.0)
    engine = Engine.load(bundle, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (30, 160, 60), np.uint8))
    text = engine.encode_text("Art Commentary: a green field.")
    with pytest.raises(EngineError, match="palette output"):
        engine.generate_mel(image, text, seed=1)
