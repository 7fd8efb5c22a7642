"""A sampling decoder's piece is streamed: the first block does not wait for the whole Mel.

On the tiny token bundle (untrained token decoder, Griffin-Lim, 32 frames) and on the same
decoder exported with the tiny ONNX HiFi-GAN: `Engine.mel_chunks` gives `generate_mel`'s frames
in chunks; `compose` runs only the decoder graph and the frames of the loudness gain; the blocks
generate the rest as they need it, each frame once; the joined blocks are the one-pass stream of
the complete Mel (HiFi-GAN: within STREAM_ATOL of the one-pass waveform as well).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from core.loudness import STREAMED_LOUDNESS_SECONDS, normalising_gain
from core.mel import denormalize
from engine import Engine
from engine.growing_mel import GrowingMel
from engine.streaming import STREAM_ATOL
from tests.export.bundle_fixture import TINY_AUDIO

PAINTING = np.full((48, 64, 3), (40, 60, 200), np.uint8)
FRAMES = TINY_AUDIO.frames


class StepCounter:
    """Counts runs of the engine's step graph (one per generated frame)."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        session = engine._session(engine.manifest.decoder.step_graph)
        run = session.run
        self.runs = 0

        def counted(feeds):
            self.runs += 1
            return run(feeds)

        monkeypatch.setattr(session, "run", counted)


@pytest.fixture(scope="module")
def engine(tiny_token_bundle) -> Engine:
    return Engine.load(tiny_token_bundle, providers=["cpu"], warmup=False)


@pytest.fixture(scope="module")
def embeddings(engine) -> tuple[np.ndarray, np.ndarray]:
    reading = engine.describe(PAINTING)
    return reading.image_embedding, engine.encode_text(engine.prompt(reading))


def _reference_mel(bundle: Path, engine: Engine, image: np.ndarray, text: np.ndarray,
                   seed: int) -> np.ndarray:
    """The step loop as the token decoder was first shipped (8e991c7), on plain onnxruntime
    sessions: the Gumbel noise of the whole piece drawn at once, one frame per run."""
    spec, graphs = engine.manifest.decoder, engine.manifest.graphs
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1

    def session(name: str) -> ort.InferenceSession:
        return ort.InferenceSession(str(bundle / graphs[name].file), options,
                                    providers=["CPUExecutionProvider"])

    decoder, step = session("decoder"), session(spec.step_graph)
    names = [i.name for i in decoder.get_inputs()]
    condition = decoder.run(None, {names[0]: image[None], names[1]: text[None]})[0]
    uniform = np.random.default_rng(seed).random((spec.frames, 1, spec.stages,
                                                  spec.codebook_size), dtype=np.float32)
    noise = -np.log(-np.log(np.clip(uniform, 1e-10, 1.0 - 1e-7)))
    state = np.zeros((spec.layers, 1, spec.hidden), np.float32)
    previous, h, c = np.full((1, spec.stages), spec.codebook_size, np.int64), state, state
    inverse = np.asarray([1.0 / t for t in spec.temperatures], np.float32)
    names = [i.name for i in step.get_inputs()]
    frames = []
    for t in range(spec.frames):
        previous, frame, h, c = step.run(None, dict(zip(names, (previous, condition, h, c,
                                                                noise[t], inverse), strict=True)))
        frames.append(frame[0])
    return denormalize(np.stack(frames, axis=-1), engine.manifest.mel_norm)


def test_mel_chunks_are_the_frames_of_generate_mel(engine, embeddings, tiny_token_bundle):
    image, text = embeddings
    whole = engine.generate_mel(image, text, seed=7)
    assert whole.shape == (80, FRAMES)
    np.testing.assert_allclose(whole, _reference_mel(tiny_token_bundle, engine, image, text, 7),
                               atol=1e-5)
    for chunk_frames in (1, 7, 16, FRAMES, 100):
        chunks = list(engine.mel_chunks(image, text, seed=7, chunk_frames=chunk_frames))
        assert [c.shape[1] for c in chunks[:-1]] == [chunk_frames] * (len(chunks) - 1)
        assert all(c.dtype == np.float32 and c.shape[0] == 80 for c in chunks)
        np.testing.assert_array_equal(np.concatenate(chunks, axis=1), whole)
    other = np.concatenate(list(engine.mel_chunks(image, text, seed=8)), axis=1)
    assert float(np.abs(other - whole).mean()) > 0.01


def test_mel_chunks_run_the_step_graph_as_they_are_taken(engine, embeddings, monkeypatch):
    steps = StepCounter(engine, monkeypatch)
    chunks = engine.mel_chunks(*embeddings, seed=3, chunk_frames=5)
    assert steps.runs == 0
    next(chunks)
    assert steps.runs == 5
    list(chunks)
    assert steps.runs == FRAMES


def test_the_paper_decoders_mel_comes_in_chunks_too(tiny_bundle):
    engine = Engine.load(tiny_bundle, providers=["cpu"], warmup=False)
    image = engine.encode_image(PAINTING)
    text = engine.encode_text("Art Commentary: a blue square. Painting Emotion: awe.")
    chunks = list(engine.mel_chunks(image, text, chunk_frames=10))
    assert [c.shape[1] for c in chunks] == [10, 10, 10, 2]
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), engine.generate_mel(image, text))


def test_compose_returns_before_the_mel_and_the_blocks_make_it_once(engine, monkeypatch):
    steps = StepCounter(engine, monkeypatch)
    piece = engine.compose(PAINTING, seed=5, target_dbfs=None, chunk_frames=8)
    assert steps.runs == 0 and piece.streamed and piece.mel_so_far().shape == (80, 0)
    assert (piece.frames, piece.samples, piece.seed) == (FRAMES, FRAMES * 256, 5)
    assert set(piece.timings) == {"image", "prompt", "text", "mel", "loudness"}
    blocks = piece.blocks()
    first = next(blocks)
    context = engine.manifest.vocoder.context_frames
    assert first.size == 8 * 256
    # block [0, 8) needs frames up to 8 + context, generated 16 at a time
    assert steps.runs == piece.mel_so_far().shape[1] == -(-(8 + context) // 16) * 16
    rest = list(blocks)
    assert steps.runs == FRAMES and not piece.streamed
    whole = engine.generate_mel(piece.image_embedding, piece.text_embedding, seed=5)
    steps.runs = 0
    np.testing.assert_array_equal(piece.log_mel, whole)
    assert steps.runs == 0  # log_mel reads the frames the blocks made
    streamed = np.concatenate([first, *rest])
    one_pass = np.concatenate(list(engine.vocode_stream(whole, chunk_frames=8)))
    np.testing.assert_array_equal(streamed, one_pass)  # the same windows, the same samples
    np.testing.assert_array_equal(piece.audio(), one_pass)  # and again, from the cache


def test_log_mel_finishes_a_piece_and_its_blocks_are_the_same(engine, monkeypatch):
    steps = StepCounter(engine, monkeypatch)
    piece = engine.compose(PAINTING, seed=9, target_dbfs=None)
    found: list[np.ndarray] = []
    reader = threading.Thread(target=lambda: found.append(piece.log_mel))  # e.g. the Mel view
    reader.start()
    blocks = list(piece.blocks())
    reader.join()
    assert steps.runs == FRAMES
    whole = engine.generate_mel(piece.image_embedding, piece.text_embedding, seed=9)
    np.testing.assert_array_equal(found[0], whole)
    np.testing.assert_array_equal(np.concatenate(blocks),
                                  np.concatenate(list(engine.vocode_stream(whole))))


def test_the_same_seed_gives_the_same_piece_and_a_new_one_a_variation(engine):
    first = engine.compose(PAINTING, seed=5)
    again = engine.compose(first.reading, seed=5)
    np.testing.assert_array_equal(again.audio(), first.audio())
    np.testing.assert_array_equal(again.log_mel, first.log_mel)
    assert again.gain == first.gain
    fresh = engine.compose(first.reading)
    assert fresh.seed not in (None, 5)
    assert float(np.abs(fresh.log_mel - first.log_mel).mean()) > 0.01


def test_the_loudness_gain_is_read_from_the_first_frames(engine, embeddings, monkeypatch):
    """compose's gain comes from the first STREAMED_LOUDNESS_SECONDS (all of this 0.37 s piece);
    read from its first half instead, it lands within 1.5 dB of the whole piece's."""
    window = round(STREAMED_LOUDNESS_SECONDS * TINY_AUDIO.sample_rate / TINY_AUDIO.hop_length)
    assert window >= FRAMES
    steps = StepCounter(engine, monkeypatch)
    piece = engine.compose(PAINTING, seed=5)
    assert steps.runs == FRAMES  # the gain's frames, made in compose, are the whole piece here
    assert piece.gain == normalising_gain(piece.log_mel, engine.audio)
    assert steps.runs == FRAMES
    half = FRAMES // 2
    levels = []
    for seed in range(6):
        mel = engine.stream_mel(*embeddings, seed=seed)
        steps.runs = 0
        gain = engine.gain(mel, window_seconds=half * TINY_AUDIO.hop_length
                           / TINY_AUDIO.sample_rate)
        assert steps.runs == half and not mel.done
        assert gain == normalising_gain(mel.so_far()[:, :half], engine.audio)
        whole = normalising_gain(mel.complete(), engine.audio)
        levels.append(20 * np.log10(gain / whole))
    assert np.max(np.abs(levels)) < 1.5, levels
    assert engine.gain(mel, None) == 1.0


@pytest.fixture(scope="module")
def hifigan_token_engine(tmp_path_factory) -> Engine:
    """The token decoder (untrained, random codebooks) exported with the tiny ONNX HiFi-GAN."""
    from export.pipeline import ExportOptions, export_bundle
    from tests.conftest import register_tiny_open_clip
    from tests.export.bundle_fixture import TINY_CLIP_SPEC, make_run, tiny_generator
    from training.models.art2music import TOKEN_DECODER

    register_tiny_open_clip()
    root = tmp_path_factory.mktemp("hifigan-token-bundle")
    run = make_run(root / "run", TINY_CLIP_SPEC, TINY_CLIP_SPEC, 32, 32,
                   decoder_kind=TOKEN_DECODER)
    bundle = export_bundle(ExportOptions(checkpoint=run, out=root / "bundle",
                                         vocoder=tiny_generator())).bundle
    return Engine.load(bundle, providers=["cpu"], warmup=False)


@pytest.mark.parametrize("chunk_frames", [5, 16])
def test_a_streamed_hifigan_piece_equals_the_one_pass_waveform(hifigan_token_engine,
                                                               chunk_frames):
    engine = hifigan_token_engine
    assert engine.samples and engine.manifest.vocoder.graph is not None
    piece = engine.compose(PAINTING, seed=4, chunk_frames=chunk_frames, target_dbfs=None)
    assert isinstance(piece.mel, GrowingMel) and piece.streamed
    streamed = np.concatenate(list(piece.blocks()))
    whole = engine.vocode(piece.log_mel)
    assert np.abs(whole).max() > 1e-2
    assert np.abs(streamed - whole).max() < STREAM_ATOL
    np.testing.assert_array_equal(
        streamed, np.concatenate(list(engine.vocode_stream(piece.log_mel, chunk_frames))))
