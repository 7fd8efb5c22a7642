"""The token decoder's beat clock and classifier-free guidance (issue 9): training, export and
the engine's ONNX loop against the PyTorch step."""

from pathlib import Path

import numpy as np
import pytest
import torch

from core.beat import BEAT_FEATURES, steady_clock, tempo_bins
from tests.training.test_token_decoder import tokens_config
from training.checkpoint import load_sidecar
from training.config import TrainConfig
from training.models import Art2Music, Art2MusicConfig, TokenDecoderConfig, TokenMelDecoder
from training.models.token_decoder import gumbel_noise
from training.trainer import train


def engine_noise(seed: int, frames: int = 896, stages: int = 2, size: int = 16) -> torch.Tensor:
    """The Gumbel noise [frames, 1, stages, size] the engine draws for a piece of `seed`
    (Engine._sample_chunks), so a PyTorch step loop can replay the engine's piece."""
    uniform = np.random.default_rng(seed).random((frames, 1, stages, size), dtype=np.float32)
    return torch.from_numpy(-np.log(-np.log(np.clip(uniform, 1e-10, 1.0 - 1e-7))))


def replay_engine_piece(model: Art2Music, image: np.ndarray, text: np.ndarray, seed: int,
                        inverse: torch.Tensor, lag: int = 0, repeat: torch.Tensor | None = None,
                        clock: torch.Tensor | None = None, palette: bool = False,
                        palette_strength: float = 0.0,
                        primer: np.ndarray | None = None,
                        code_bias: np.ndarray | None = None) -> np.ndarray:
    """The normalised Mel [n_mels, 896] of the engine's piece for `seed`, replayed by the
    PyTorch step (Engine._sample_chunks: the primer teacher-forced as TokenMelDecoder.sample
    does, then one step per frame with the engine's noise, plus `code_bias` [stages, size]
    where given, and the repetition prior's lagged onsets)."""
    from core.beat import onset_lagged

    decoder = model.decoder
    noise = engine_noise(seed)
    if code_bias is not None:
        noise = noise + torch.from_numpy(np.asarray(code_bias, np.float32))
    frames, history = [], np.zeros((896, 2), np.int64)
    with torch.no_grad():
        image_t = torch.from_numpy(image)[None]
        cond = decoder.condition(model.projector(image_t, torch.from_numpy(text)[None]))
        log_q = decoder.palette(image_t) if palette else None
        strength = torch.tensor([palette_strength]) if palette else None
        previous, h, c = decoder.initial_state(1)
        if primer is not None:
            codes = torch.from_numpy(np.asarray(primer, np.int64))[None]
            before = torch.cat([previous.unsqueeze(1), codes[:, :-1]], dim=1)
            _, (h, c) = decoder.lstm(decoder._inputs(before, cond), (h, c))
            previous = codes[:, -1]
        for t in range(896):
            lagged = (torch.from_numpy(onset_lagged(history, t, lag, decoder.bos))
                      if repeat is not None else None)
            beat = clock[t][None] if clock is not None else None
            previous, frame, h, c = decoder.step(previous, cond, h, c, noise[t], inverse, beat,
                                                 None, lagged, repeat, log_q, strength)
            history[t] = previous[0].numpy()
            frames.append(frame[0].numpy())
    return np.stack(frames, -1)


def with_decoder_fields(bundle: Path, out: Path, **fields) -> Path:
    """A copy of `bundle` at `out` whose manifest's decoder section has `fields` changed (the
    files and their hashes stay as exported)."""
    import json
    import shutil

    if out != bundle:
        shutil.copytree(bundle, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["decoder"].update(fields)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def _guided_tiny(beat: bool = True) -> Art2Music:
    torch.manual_seed(0)
    base = Art2MusicConfig.tiny(decoder_kind="tokens", frames=40)
    tokens = TokenDecoderConfig.from_dict({
        **base.tokens.to_dict(), "condition_dropout": 0.2,
        "beat_features": BEAT_FEATURES if beat else 0,
        "tempo_bpm": tempo_bins(6) if beat else ()})
    model = Art2Music(Art2MusicConfig(base.projector, base.decoder, "tokens", tokens)).eval()
    model.decoder.codebook.set_books(torch.rand(2, 16, 80) - 0.5)
    with torch.no_grad():
        model.decoder.null_condition.copy_(torch.randn(32))
    return model


def _step_codes(model: Art2Music, cond: torch.Tensor, guidance: float | None,
                steps: int = 12) -> torch.Tensor:
    decoder = model.decoder
    generator = torch.Generator().manual_seed(5)
    previous, h, c = decoder.initial_state(1, guided=guidance is not None)
    clock = torch.from_numpy(steady_clock(steps, 100.0))
    inverse = torch.tensor([1.0, 1.25])
    codes = []
    with torch.no_grad():
        for t in range(steps):
            noise = gumbel_noise((1, 2, 16), generator)
            scale = None if guidance is None else torch.tensor([guidance])
            previous, _, h, c = decoder.step(previous, cond, h, c, noise, inverse,
                                             clock[t][None], scale)
            codes.append(previous)
    return torch.cat(codes)


def test_guidance_one_samples_the_conditional_model_and_zero_the_null_one():
    model = _guided_tiny()
    decoder = model.decoder
    cond = decoder.condition(torch.randn(1, 32))
    conditional = _step_codes(model, cond, None)
    torch.testing.assert_close(_step_codes(model, cond, 1.0), conditional, rtol=0, atol=0)
    null = decoder.null_condition[None]
    torch.testing.assert_close(_step_codes(model, cond, 0.0), _step_codes(model, null, None),
                               rtol=0, atol=0)
    assert not torch.equal(_step_codes(model, cond, 40.0, steps=30), _step_codes(model, cond, None, 30))


def test_the_beat_clock_changes_what_is_sampled_and_is_required():
    model = _guided_tiny()
    decoder = model.decoder
    with torch.no_grad():
        decoder.lstm.weight_ih_l0[:, -BEAT_FEATURES:].mul_(50.0)  # make the clock matter
    h = torch.randn(1, 32)
    previous, target = torch.zeros(1, 8, 2, dtype=torch.long), torch.zeros(1, 8, 2, dtype=torch.long)
    beat = torch.from_numpy(steady_clock(8, 90.0))[None]
    with torch.no_grad():
        first = decoder(h, previous, target, beat)[0]
        shifted = decoder(h, previous, target, torch.roll(beat, 3, dims=1))[0]
    assert float((first - shifted).abs().max()) > 1e-3
    with pytest.raises(ValueError, match="beat clock"):
        decoder(h, previous, target)
    with torch.no_grad():
        cond = decoder.condition(h)
        bpm = decoder.tempo_of(cond).item()
        expected = tempo_bins(6)[int(decoder.tempo_logits(cond).argmax())]
    assert bpm == pytest.approx(expected)


def test_dropped_rows_see_the_null_condition():
    model = _guided_tiny(beat=False)
    decoder = model.decoder
    cond = torch.randn(3, 32)
    mixed = decoder.drop_condition(cond, torch.tensor([False, True, False]))
    torch.testing.assert_close(mixed[1], decoder.null_condition)
    torch.testing.assert_close(mixed[[0, 2]], cond[[0, 2]])


def test_a_clock_without_tempo_classes_is_refused():
    with pytest.raises(ValueError, match="beat clock"):
        TokenMelDecoder(TokenDecoderConfig(input_dim=8, hidden_dim=8, beat_features=4))


def _config(data: Path, out: Path, **overrides) -> TrainConfig:
    """The tiny token run of test_token_decoder with a beat clock and condition dropout."""
    values = dict(crop_frames=24, beat_clock=True, tempo_bins=6, condition_dropout=0.3)
    values.update(overrides)
    return tokens_config(data, out, **values)


@pytest.fixture(scope="module")
def beat_run(tiny_dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("beat-run") / "run"
    train(_config(tiny_dataset, out))
    return out


def test_a_beat_clock_guided_run_trains_and_resumes_exactly(beat_run, tiny_dataset, tmp_path):
    from training.checkpoint import load_tensors

    state = load_sidecar(beat_run / "checkpoints", "last")
    tokens = state["model_config"]["tokens"]
    assert tokens["beat_features"] == 4 and len(tokens["tempo_bpm"]) == 6
    assert tokens["condition_dropout"] == 0.3
    history = state["history"]
    assert history["val_loss"][-1] < history["val_loss"][0]
    interrupted = tmp_path / "interrupted"
    assert train(_config(tiny_dataset, interrupted, max_steps=3))["stopped_early"]
    train(_config(tiny_dataset, interrupted, resume=True))
    straight = load_tensors(beat_run / "checkpoints" / "last.safetensors")
    resumed = load_tensors(interrupted / "checkpoints" / "last.safetensors")
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=1e-5, msg=name)


@pytest.fixture(scope="module")
def guided_bundle(beat_run, tmp_path_factory) -> Path:
    from export.pipeline import ExportOptions, export_bundle

    out = tmp_path_factory.mktemp("guided-bundle") / "bundle"
    export_bundle(ExportOptions(checkpoint=beat_run, out=out, vocoder="griffin_lim",
                                temperatures=(1.0, 0.9), guidance=2.5))
    return out


def test_the_engine_samples_what_the_guided_torch_decoder_samples(guided_bundle, beat_run):
    from core.mel import denormalize
    from engine.bundle import Bundle
    from engine.engine import Engine
    from export.checkpoint import load_run

    spec = Bundle.open(guided_bundle).manifest.decoder
    assert (spec.guidance, spec.beat_features, len(spec.tempo_bpm)) == (2.5, 4, 6)
    engine = Engine.load(guided_bundle, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (30, 140, 60), np.uint8))
    text = engine.encode_text("Art Commentary: a green field. Painting Emotion: contentment.")
    mel = engine.generate_mel(image, text, seed=4)
    np.testing.assert_array_equal(engine.generate_mel(image, text, seed=4), mel)
    bpm = engine.tempo(image, text)
    assert bpm in spec.tempo_bpm

    run = load_run(beat_run)
    model = run.model()
    decoder = model.decoder
    noise = engine_noise(4)
    clock = torch.from_numpy(steady_clock(896, bpm))
    inverse, scale = torch.tensor([1 / 1.0, 1 / 0.9]), torch.tensor([2.5])
    frames = []
    with torch.no_grad():
        cond = decoder.condition(model.projector(torch.from_numpy(image)[None],
                                                 torch.from_numpy(text)[None]))
        assert decoder.tempo_of(cond).item() == pytest.approx(bpm)
        previous, h, c = decoder.initial_state(1, guided=True)
        for t in range(896):
            previous, frame, h, c = decoder.step(previous, cond, h, c, noise[t], inverse,
                                                 clock[t][None], scale)
            frames.append(frame[0].numpy())
    np.testing.assert_allclose(mel, denormalize(np.stack(frames, -1), run.mel_norm), atol=1e-4)


def test_guidance_on_a_run_without_condition_dropout_is_refused(tiny_dataset, tmp_path):
    from export.errors import ExportError
    from export.pipeline import ExportOptions, export_bundle

    run = tmp_path / "plain"
    train(_config(tiny_dataset, run, epochs=1, condition_dropout=0.0, beat_clock=False))
    with pytest.raises(ExportError, match="condition dropout"):
        export_bundle(ExportOptions(checkpoint=run, out=tmp_path / "b", vocoder="griffin_lim",
                                    guidance=2.0))
