"""Engine API on the tiny bundle: each stage's contract, compose, and clear input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio_config import DEFAULT_MEL_NORM
from core.mel import denormalize
from core.prompt import ARTEMIS_EMOTIONS
from core.prompt import build_prompt as core_build_prompt
from engine import PROMPT_FEELINGS, Engine, EngineError, Piece
from export.encoders import example_image
from tests.export.bundle_fixture import TINY_AUDIO


@pytest.fixture(scope="module")
def engine(tiny_bundle) -> Engine:
    return Engine.load(tiny_bundle, providers=["cpu"])


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    return example_image(seed=5, height=120, width=90)


def test_stages_return_what_the_contract_promises(engine, painting):
    image = engine.encode_image(painting)
    text = engine.encode_text("Art Commentary: calm sea. Painting Emotion: awe.")
    assert image.dtype == np.float32 and image.shape == (32,)
    assert text.dtype == np.float32 and text.shape == (32,)
    assert abs(np.linalg.norm(image) - 1) < 1e-3 and abs(np.linalg.norm(text) - 1) < 1e-3
    log_mel = engine.generate_mel(image, text)
    assert log_mel.dtype == np.float32 and log_mel.shape == (80, TINY_AUDIO.frames)
    assert log_mel.min() >= DEFAULT_MEL_NORM.log_min - 1e-4
    assert log_mel.max() <= DEFAULT_MEL_NORM.log_max + 1e-4
    audio = engine.vocode(log_mel)
    assert audio.dtype == np.float32 and audio.shape == (TINY_AUDIO.frames * 256,)
    assert engine.audio == TINY_AUDIO
    assert engine.vocoder_name == "hifigan-tiny"


def test_feelings_are_ranked_artemis_probabilities(engine, painting):
    image = engine.encode_image(painting)
    ranked = engine.feelings(image, top_k=9)
    labels = [label for label, _ in ranked]
    scores = [score for _, score in ranked]
    assert sorted(labels) == sorted(ARTEMIS_EMOTIONS)
    assert scores == sorted(scores, reverse=True)
    assert abs(sum(scores) - 1.0) < 1e-3
    assert engine.feelings(image, top_k=2) == ranked[:2]


def test_generate_mel_is_the_checkpoints_mel_after_inverting_the_normalisation(engine):
    from export.checkpoint import load_run

    checkpoint = engine.bundle.provenance_path(engine.manifest.provenance["checkpoint"])
    model = load_run(checkpoint).model()
    rng = np.random.default_rng(1)
    image, text = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 32)).astype(np.float32))
    with torch.no_grad():
        normalised = model(torch.from_numpy(image[None]), torch.from_numpy(text[None]))[0]
    expected = denormalize(normalised.numpy(), DEFAULT_MEL_NORM)
    assert np.abs(engine.generate_mel(image, text) - expected).max() < 1e-2


def test_build_prompt_takes_labels_and_keywords_of_the_nearest_caption(engine):
    comment = "The waves look lonely under the grey sky"
    match = engine.nearest_caption(comment)
    assert match is not None and -1.0 <= match.similarity <= 1.0
    prompt = engine.build_prompt(comment, ["sadness", "awe"])
    assert prompt == core_build_prompt(comment, ["sadness", "awe"], match.entry.labels,
                                       match.entry.keywords)
    assert "Painting Emotion: sadness, awe." in prompt


def test_an_empty_comment_is_matched_through_the_feelings(engine):
    prompt = engine.build_prompt("", ["contentment"])
    match = engine.nearest_caption("contentment")
    assert prompt == core_build_prompt("", ["contentment"], match.entry.labels,
                                       match.entry.keywords)


def test_compose_runs_every_stage_and_streams_the_piece(engine, painting):
    piece = engine.compose(painting, "so many warm colours", chunk_frames=8)
    assert isinstance(piece, Piece)
    assert len(piece.feelings) == PROMPT_FEELINGS and set(piece.feelings) <= set(ARTEMIS_EMOTIONS)
    assert piece.feelings == tuple(label for label, _ in piece.reading.feelings[:PROMPT_FEELINGS])
    assert piece.prompt.startswith("Art Commentary: so many warm colours.")
    assert set(piece.timings) == {"image", "prompt", "text", "mel"}
    blocks = list(piece.blocks())
    assert TINY_AUDIO.frames == 32  # blocks of 8 and 8 frames, then doubling (MAX_CHUNK_FRAMES)
    assert [b.size for b in blocks] == [8 * 256, 8 * 256, 16 * 256]
    np.testing.assert_allclose(np.concatenate(blocks), engine.vocode(piece.log_mel), atol=1e-5)
    assert piece.seconds == pytest.approx(TINY_AUDIO.clip_seconds)
    chosen = engine.compose(painting, "", feelings=["fear"])
    assert chosen.feelings == ("fear",) and "Painting Emotion: fear." in chosen.prompt


def test_bad_inputs_raise_one_sentence_engine_errors(engine, painting):
    with pytest.raises(EngineError, match="uint8"):
        engine.encode_image(painting.astype(np.float32))
    with pytest.raises(EngineError, match="H×W×3"):
        engine.encode_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(EngineError, match="expects 32"):
        engine.generate_mel(np.zeros(16, np.float32), np.zeros(32, np.float32))
    with pytest.raises(EngineError, match=r"shape \[80, frames\]"):
        engine.vocode(np.zeros((32, 80), np.float32))


def test_compose_feeds_the_image_to_the_image_input_and_the_prompt_to_the_text_input(engine, painting):
    """Both widths are 32 in the tiny bundle, so a swap would not fail on shapes: the expected
    Mel comes from the checkpoint called with named arguments, and the decoder is shown to tell
    the two inputs apart."""
    from export.checkpoint import load_run

    checkpoint = engine.bundle.provenance_path(engine.manifest.provenance["checkpoint"])
    model = load_run(checkpoint).model()
    piece = engine.compose(painting, "a quiet harbour at night", feelings=["contentment"])
    image = torch.from_numpy(piece.image_embedding[None])
    text = torch.from_numpy(piece.text_embedding[None])
    with torch.no_grad():
        right = denormalize(model(image=image, text=text)[0].numpy(), DEFAULT_MEL_NORM)
        swapped = denormalize(model(image=text, text=image)[0].numpy(), DEFAULT_MEL_NORM)
    assert np.abs(swapped - right).max() > 0.05
    assert np.abs(piece.log_mel - right).max() < 1e-2
    np.testing.assert_allclose(piece.image_embedding, engine.encode_image(painting), atol=1e-6)
    np.testing.assert_allclose(piece.text_embedding, engine.encode_text(piece.prompt), atol=1e-6)
