"""The token decoder (issue 9): residual codebooks, teacher forcing, Gumbel sampling, training."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import TINY_CLIP
from training.checkpoint import load_sidecar, load_tensors
from training.config import TrainConfig
from training.models import Art2Music, Art2MusicConfig, TokenDecoderConfig, TokenMelDecoder
from training.models.codebook import ResidualCodebook, fit_residual_codebooks
from training.models.token_decoder import gumbel_noise, shifted_codes, token_cross_entropy
from training.trainer import train


def _clustered_frames(rng: np.random.Generator, centres: np.ndarray, n: int,
                      spread: float) -> np.ndarray:
    labels = rng.integers(0, len(centres), n)
    return centres[labels] + spread * rng.standard_normal((n, centres.shape[1]))


def test_one_stage_finds_well_separated_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 8) * 0.8
    frames = _clustered_frames(rng, centres, 2000, 0.01)
    books = fit_residual_codebooks(frames, stages=1, size=4, seed=1)
    found = np.sort(np.round(books[0], 1), axis=0)
    np.testing.assert_allclose(found, np.sort(np.round(centres, 1), axis=0), atol=0.05)


def test_a_second_stage_halves_the_reconstruction_error():
    rng = np.random.default_rng(1)
    frames = rng.uniform(-1, 1, (4000, 6)).astype(np.float32)
    errors = []
    for stages in (1, 2):
        codebook = ResidualCodebook(stages, 16, 6)
        codebook.set_books(fit_residual_codebooks(frames, stages, 16, seed=0))
        mel = torch.from_numpy(frames.T[None])
        errors.append(float((codebook.decode(codebook.encode(mel)) - mel).abs().mean()))
    assert errors[1] < 0.75 * errors[0], errors


def test_decode_sums_the_stages_and_clips_to_the_mel_range():
    codebook = ResidualCodebook(2, 3, 2)
    codebook.set_books(np.array([[[0.5, 0.0], [0.9, -0.9], [0.0, 0.0]],
                                 [[0.1, 0.2], [0.3, -0.3], [0.0, 0.0]]], dtype=np.float32))
    codes = torch.tensor([[[0, 0], [1, 1]]])  # [B=1, frames=2, stages=2]
    mel = codebook.decode(codes)
    np.testing.assert_allclose(mel[0].numpy(), [[0.6, 1.0], [0.2, -1.0]], atol=1e-6)


def test_too_few_frames_for_the_codebook_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 16 Mel frames"):
        fit_residual_codebooks(np.zeros((10, 4)), stages=1, size=16)


def test_shifted_windows_start_with_the_start_code():
    codes = torch.tensor([[[1, 10], [2, 20], [3, 30], [4, 40]]])
    previous, target = shifted_codes(codes, torch.tensor([0]), 2, bos=99)
    assert previous.tolist() == [[[99, 99], [1, 10]]]
    assert target.tolist() == [[[1, 10], [2, 20]]]
    previous, target = shifted_codes(codes, torch.tensor([2]), 2, bos=99)
    assert previous.tolist() == [[[2, 20], [3, 30]]]
    assert target.tolist() == [[[3, 30], [4, 40]]]


def test_gumbel_max_samples_the_tempered_softmax():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    temperature = 1.5
    generator = torch.Generator().manual_seed(0)
    draws = torch.argmax(logits / temperature + gumbel_noise((40_000, 4), generator), dim=-1)
    observed = torch.bincount(draws, minlength=4).float() / len(draws)
    expected = torch.softmax(logits / temperature, dim=0)
    torch.testing.assert_close(observed, expected, atol=0.01, rtol=0)


def test_cross_entropy_of_uniform_logits_is_log_size_per_stage():
    logits = [torch.zeros(2, 5, 8), torch.zeros(2, 5, 8)]
    target = torch.zeros(2, 5, 2, dtype=torch.long)
    assert float(token_cross_entropy(logits, target)) == pytest.approx(2 * np.log(8), rel=1e-6)


def test_the_second_stage_head_sees_the_first_stage_code():
    torch.manual_seed(0)
    decoder = TokenMelDecoder(TokenDecoderConfig(input_dim=8, hidden_dim=16, num_layers=1,
                                                 embed_dim=8, codebook_size=8, stages=2,
                                                 n_mels=4, frames=6))
    h = torch.randn(1, 8)
    previous = torch.zeros(1, 6, 2, dtype=torch.long)
    target = torch.zeros(1, 6, 2, dtype=torch.long)
    other = target.clone()
    other[..., 0] = 3
    a = decoder(h, previous, target)
    b = decoder(h, previous, other)
    torch.testing.assert_close(a[0], b[0])  # stage 1 does not see its own target
    assert float((a[1] - b[1]).detach().abs().max()) > 1e-4  # stage 2 does


def test_generation_is_seeded_and_seeds_give_variations():
    torch.manual_seed(0)
    model = Art2Music(Art2MusicConfig.tiny(decoder_kind="tokens", frames=40)).eval()
    model.decoder.codebook.set_books(torch.rand(2, 16, 80) - 0.5)
    image, text = torch.randn(1, 16), torch.randn(1, 16)
    first = model(image, text, seed=3)
    assert first.shape == (1, 80, 40)
    torch.testing.assert_close(model(image, text, seed=3), first, rtol=0, atol=0)
    assert float((model(image, text, seed=4) - first).abs().mean()) > 0.01


def tokens_config(data: Path, out: Path, **overrides) -> TrainConfig:
    values = dict(data=data, out=out, image_encoder=TINY_CLIP, text_encoder=TINY_CLIP,
                  model_size="tiny", epochs=2, batch_size=4, learning_rate=1e-2,
                  checkpoint_every=2, device="cpu", num_threads=1, objective="tokens",
                  crop_frames=48)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def token_run(tiny_dataset, tmp_path_factory) -> Path:
    """One tiny token-decoder run, trained straight through (shared by the tests below)."""
    out = tmp_path_factory.mktemp("token-run") / "straight"
    train(tokens_config(tiny_dataset, out))
    return out


def test_tokens_objective_trains_and_saves_its_codebooks(token_run):
    state = load_sidecar(token_run / "checkpoints", "last")
    history = state["history"]
    chance = 2 * np.log(16)  # two stages of 16 codes, uniform guess
    assert history["val_loss"][-1] < 0.9 * chance, history["val_loss"]
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert np.mean(history["train_loss"][:2]) > np.mean(history["train_loss"][-2:])
    assert state["model_config"]["decoder_kind"] == "tokens"
    weights = load_tensors(token_run / "checkpoints" / "last.safetensors")
    assert float(weights["decoder.codebook.books"].abs().sum()) > 0
    assert (token_run / "mel_validation.png").stat().st_size > 10_000


def test_a_killed_tokens_run_resumes_to_the_same_weights(tiny_dataset, token_run, tmp_path):
    interrupted = tmp_path / "interrupted"
    summary = train(tokens_config(tiny_dataset, interrupted, max_steps=4))
    assert summary["stopped_early"]
    train(tokens_config(tiny_dataset, interrupted, resume=True))
    straight = load_tensors(token_run / "checkpoints" / "last.safetensors")
    resumed = load_tensors(interrupted / "checkpoints" / "last.safetensors")
    assert straight.keys() == resumed.keys()
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=1e-5, msg=name)


@pytest.fixture(scope="module")
def token_bundle(token_run, tmp_path_factory) -> Path:
    from export.pipeline import ExportOptions, export_bundle

    out = tmp_path_factory.mktemp("token-bundle") / "bundle"
    export_bundle(ExportOptions(checkpoint=token_run, out=out, vocoder="griffin_lim", fp16=True,
                                temperatures=(1.0, 0.9)))
    return out


def test_the_bundle_records_the_sampling_decoder(token_bundle):
    from engine.bundle import Bundle

    manifest = Bundle.open(token_bundle).manifest
    spec = manifest.decoder
    assert (spec.kind, spec.step_graph, spec.stages, spec.codebook_size) == (
        "tokens", "decoder_step", 2, 16)
    assert spec.temperatures == (1.0, 0.9)  # export's --temperatures, not the run's (1.1, 1.0)
    assert manifest.graphs["decoder_step"].weights == "fp32"
    assert [t.name for t in manifest.graphs["decoder_step"].outputs] == [
        "codes", "mel_frame", "h1", "c1"]


def test_the_engine_samples_what_the_torch_decoder_samples_with_the_same_noise(token_bundle,
                                                                               token_run):
    from core.mel import denormalize
    from engine.engine import Engine
    from export.checkpoint import load_run

    engine = Engine.load(token_bundle, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (200, 40, 40), np.uint8))
    text = engine.encode_text("Art Commentary: a red square. Painting Emotion: anger.")
    mel = engine.generate_mel(image, text, seed=11)
    assert mel.shape == (80, 896)
    np.testing.assert_array_equal(engine.generate_mel(image, text, seed=11), mel)
    assert float(np.abs(engine.generate_mel(image, text, seed=12) - mel).mean()) > 0.01

    run = load_run(token_run)
    model = run.model()
    decoder = model.decoder
    rng = np.random.default_rng(11)
    uniform = rng.random((896, 1, 2, 16), dtype=np.float32)
    noise = torch.from_numpy(-np.log(-np.log(np.clip(uniform, 1e-10, 1.0 - 1e-7))))
    inverse = torch.tensor([1 / 1.0, 1 / 0.9])
    frames = []
    with torch.no_grad():
        cond = decoder.condition(model.projector(torch.from_numpy(image)[None],
                                                 torch.from_numpy(text)[None]))
        previous, h, c = decoder.initial_state(1)
        for t in range(896):
            previous, frame, h, c = decoder.step(previous, cond, h, c, noise[t], inverse)
            frames.append(frame[0].numpy())
    expected = denormalize(np.stack(frames, axis=-1), run.mel_norm)
    np.testing.assert_allclose(mel, expected, atol=1e-4)


def test_compose_records_the_seed_and_play_again_is_a_new_variation(token_bundle):
    from engine.engine import Engine

    engine = Engine.load(token_bundle, warmup=False)
    painting = np.full((48, 64, 3), (40, 60, 200), np.uint8)
    first = engine.compose(painting, seed=5)
    assert first.seed == 5
    again = engine.compose(painting, seed=5)
    np.testing.assert_array_equal(again.log_mel, first.log_mel)
    fresh = engine.compose(first.reading)
    assert fresh.seed is not None and fresh.seed != 5
    assert float(np.abs(fresh.log_mel - first.log_mel).mean()) > 0.01


def test_export_refuses_temperatures_that_do_not_fit_the_stages(token_run, tmp_path):
    from export.errors import ExportError
    from export.pipeline import ExportOptions, export_bundle

    with pytest.raises(ExportError, match="one temperature per codebook stage"):
        export_bundle(ExportOptions(checkpoint=token_run, out=tmp_path / "b",
                                    vocoder="griffin_lim", temperatures=(1.0,)))
    assert not (tmp_path / "b" / "manifest.json").exists()


@pytest.mark.parametrize("text", ["hot", "0", "1.0,,0.9", "9"])
def test_the_temperatures_flag_refuses_nonsense(text):
    import argparse

    from export.cli import _temperatures

    with pytest.raises(argparse.ArgumentTypeError):
        _temperatures(text)
    assert _temperatures("1.0,0.9") == (1.0, 0.9)
