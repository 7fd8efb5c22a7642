"""The log-prior against broadband codes (core/code_bias.py): which codes it takes odds from,
how export.code_bias puts it into a bundle, and that the engine and the PyTorch sampler draw by
it alike."""

import json

import numpy as np
import pytest
import torch

from core.audio_config import DEFAULT_MEL_NORM
from core.code_bias import broadband_code_bias, code_flatness
from core.mel import normalize
from tests.training.test_token_beat_guidance import replay_engine_piece
from tests.training.test_token_primer import primed  # noqa: F401  (the module's fixture)


def _books_with_flat_codes(size: int = 10, flat: tuple[int, ...] = (3, 7)) -> np.ndarray:
    """Codebooks [2, size, 80]: stage-0 codes are one partial over a quiet floor, except
    `flat`, whose Mel frame is the same energy in every band (white-noise-like)."""
    log_mel = np.full((size, 80), -9.0, np.float32)
    for code in range(size):
        log_mel[code, 4 + 7 * code % 70] = -1.0
    log_mel[list(flat)] = -3.0
    stage0 = normalize(log_mel, DEFAULT_MEL_NORM)
    return np.stack([stage0, np.zeros_like(stage0)])


def test_a_flat_mel_frame_has_flatness_one_and_a_partial_almost_none():
    books = _books_with_flat_codes()
    flatness = code_flatness(books[0])
    np.testing.assert_allclose(flatness[[3, 7]], 1.0, rtol=1e-5)
    assert flatness[[0, 1, 2, 4]].max() < 0.05


def test_only_first_stage_codes_flatter_than_the_quantile_lose_beta():
    books = _books_with_flat_codes()
    bias = broadband_code_bias(books, 2.5, quantile=0.75)
    assert bias.shape == (2, 10) and bias.dtype == np.float32
    assert sorted(np.flatnonzero(bias[0])) == [3, 7]
    np.testing.assert_array_equal(bias[0, [3, 7]], -2.5)
    assert not bias[1].any()
    assert not broadband_code_bias(books, 0.0).any()
    for kwargs, message in (({"strength": -1.0}, "at least 0"), ({"strength": 1.0, "quantile": 1.0},
                            "quantile"), ({"strength": 1.0, "stage": 2}, "stage 2")):
        with pytest.raises(ValueError, match=message):
            broadband_code_bias(books, **kwargs)
    with pytest.raises(ValueError, match="stages, size, n_mels"):
        broadband_code_bias(books[0], 1.0)


def test_the_torch_sampler_never_draws_a_code_the_bias_rules_out():
    from training.models.token_decoder import TokenDecoderConfig, TokenMelDecoder

    torch.manual_seed(0)
    decoder = TokenMelDecoder(TokenDecoderConfig(input_dim=8, hidden_dim=16, embed_dim=8,
                                                 codebook_size=10, frames=40,
                                                 temperatures=(1.0, 1.0))).eval()
    h = torch.randn(3, 8)
    _, free = decoder.sample(h, seed=4)
    bias = torch.zeros(2, 10)
    banned = torch.unique(free[..., 0])[:3]
    bias[0, banned] = -1e4
    _, biased = decoder.sample(h, seed=4, code_bias=bias)
    assert not torch.isin(biased[..., 0], banned).any()
    assert torch.equal(decoder.sample(h, seed=4, code_bias=torch.zeros(2, 10))[1], free)
    with pytest.raises(ValueError, match=r"\[stages, size\]"):
        decoder.sample(h, seed=4, code_bias=torch.zeros(10))


def test_export_adds_the_bias_and_the_engine_draws_by_it_as_torch_does(primed, tmp_path,  # noqa: F811
                                                                        capsys):
    """export.code_bias: one new hashed file, the graphs untouched, the provenance recorded; the
    engine's piece is the PyTorch step's with the bias added to the same noise."""
    from core.beat import lag_frames
    from core.mel import denormalize
    from engine import Engine
    from engine.bundle import Bundle
    from export.checkpoint import load_run
    from export.code_bias import main, set_code_bias
    from training.evaluation.data import load_model
    from training.evaluation.evaluate import run_code_bias

    run_dir, bundle = primed
    record = set_code_bias(bundle, 3.0, tmp_path / "biased", quantile=0.75)
    before, after = Bundle.open(bundle).manifest, Bundle.open(tmp_path / "biased").manifest
    assert after.decoder.code_bias == "code_bias.npy" and not before.decoder.biased
    assert set(after.files) - set(before.files) == {"code_bias.npy"}
    assert all(after.files[name] == digest for name, digest in before.files.items()
               if name != "manifest.json")
    bias = np.load(tmp_path / "biased" / "code_bias.npy")
    assert bias.shape == (2, 16) and record["penalised"] == int((bias[0] == -3.0).sum()) == 4
    assert after.provenance["code_bias"] == {"strength": 3.0, "quantile": 0.75, "stage": 0,
                                             "penalised": 4}
    set_code_bias(bundle, 3.0, tmp_path / "default")  # Table IV's sampler: the same prior
    np.testing.assert_array_equal(run_code_bias(load_model(run_dir), 3.0).numpy(),
                                  np.load(tmp_path / "default" / "code_bias.npy"))

    plain, biased = (Engine.load(path, providers="cpu", warmup=False)
                     for path in (bundle, tmp_path / "biased"))
    image = biased.encode_image(np.full((48, 64, 3), (40, 90, 200), np.uint8))
    text = biased.encode_text("Art Commentary: a blue night. Painting Emotion: fear.")
    mel = biased.generate_mel(image, text, seed=5)
    assert not np.allclose(mel, plain.generate_mel(image, text, seed=5))
    model = load_run(run_dir).model()
    replayed = replay_engine_piece(model, image, text, 5, torch.tensor([1 / 1.0, 1 / 0.9]),
                                   lag_frames(biased.tempo(image, text), 1.0),
                                   torch.tensor([3.0, 2.0]), primer=biased.primer_codes(image),
                                   code_bias=bias)
    np.testing.assert_allclose(mel, denormalize(replayed, load_run(run_dir).mel_norm), atol=1e-4)

    assert set_code_bias(tmp_path / "biased", 0.0)["penalised"] == 0  # strength 0 removes it
    removed = Bundle.open(tmp_path / "biased").manifest
    assert not removed.decoder.biased and "code_bias.npy" not in removed.files
    assert not (tmp_path / "biased" / "code_bias.npy").exists()
    assert main(["--bundle", str(tmp_path / "nowhere"), "--strength", "2"]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["--bundle", str(tmp_path / "biased"), "--strength", "2"]) == 0
    assert "broadband codes drawn e^2 times less" in capsys.readouterr().out


def test_a_bias_of_the_wrong_shape_is_an_engine_error_not_a_crash(primed, tmp_path):  # noqa: F811
    from engine import Engine
    from engine.bundle import Bundle
    from engine.errors import EngineError
    from export.bundle import rewrite_bundle
    from export.code_bias import set_code_bias

    _, bundle = primed
    set_code_bias(bundle, 2.0, tmp_path / "biased")
    opened = Bundle.open(tmp_path / "biased")
    raw = json.loads((tmp_path / "biased" / "manifest.json").read_text())
    rewrite_bundle(opened, tmp_path / "wrong", raw, {"code_bias.npy": np.zeros((2, 5), np.float32)})
    engine = Engine.load(tmp_path / "wrong", providers="cpu", warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (40, 90, 200), np.uint8))
    text = engine.encode_text("Art Commentary: a blue night.")
    with pytest.raises(EngineError, match="code bias"):
        engine.generate_mel(image, text, seed=1)
