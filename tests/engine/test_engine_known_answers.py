"""Known answers for engine/engine.py on a bundle of hand-written ONNX graphs
(tests/engine/handmade_bundle.py): every stage's output is worked out here with numpy from the
graphs' closed forms and literal token ids, never by calling the engine twice."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import engine.engine as engine_module
from core.audio_config import AudioConfig
from core.loudness import normalising_gain
from engine.bundle import Bundle
from engine.commentary import Commentary
from engine.engine import Engine, _shape_ranges
from engine.errors import BundleError, EngineError
from engine.reading import Reading
from engine.session import GraphSession
from engine.streaming import stream_vocode
from engine.tensorrt import ShapeRange
from engine.vocoder import GriffinLimVocoder
from tests.engine import handmade_bundle as hb

RED = (255, 0, 51)
EMBEDDING = [1.0, -1.0, 0.1]  # ((255, 0, 51) / 255 − mean) / std, averaged over a uniform frame
EMBEDDING16 = np.array(EMBEDDING, np.float16).astype(np.float64)  # the graph's float16 output
COMMENTARY = {"class_output": "classes", "colour_output": "colour",
              "colour_features": list(hb.COLOUR_FEATURES)}
TEXT = ("A painting of a red sky and the blue sea in soft light, with warm rich colours of red and "
        "orange, strong contrasts; busy with detail.")


def _engine(tmp_path: Path, **kwargs) -> Engine:
    options = {k: kwargs.pop(k) for k in ("vocoder", "captions", "feelings", "commentary") if k in kwargs}
    return Engine.load(hb.write_bundle(tmp_path / "bundle", **options), **kwargs)


def _tokens(*ids: int) -> np.ndarray:
    row = np.zeros(hb.L, np.float32)
    row[: len(ids) + 2] = [hb.SOT, *ids, hb.EOT]
    return row


def _expected_mel(image: np.ndarray, text: np.ndarray) -> np.ndarray:
    flat = np.concatenate([image, text]).astype(np.float64) @ hb.decoder_weights().astype(np.float64)
    normalised = np.clip(flat.reshape(hb.N_MELS, hb.FRAMES), -1, 1)
    return (normalised + 1) / 2 * (hb.LOG_MAX - hb.LOG_MIN) + hb.LOG_MIN


PROMPT = ("Art Commentary: sea storm. Painting Emotion: awe. Audio: Rain, Music. "
          "Audio keywords: waves.")
# art commentary : sea storm . painting emotion : awe . audio : rain , music . audio keywords : waves .
PROMPT_IDS = (4, 5, 6, 20, 30, 7, 8, 9, 6, 40, 7, 11, 6, 51, 13, 50, 7, 11, 12, 6, 52, 7)


def test_describe_reads_the_embedding_and_ranks_every_feeling(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    reading = engine.describe(np.full((5, 7, 3), RED, np.uint8))
    np.testing.assert_allclose(reading.image_embedding, EMBEDDING16, atol=1e-6)
    assert reading.image_embedding.dtype == np.float32 and reading.image_embedding.shape == (3,)
    # scores [e, e / 2 − 0.3] = [1, −1, 0.1, 0.2, −0.8, −0.25], all six ranked
    assert [label for label, _ in reading.feelings] == ["awe", "anger", "joy", "disgust", "sadness", "fear"]
    np.testing.assert_allclose([p for _, p in reading.feelings], [1.0, 0.2, 0.1, -0.25, -0.8, -1.0],
                               atol=1e-3)
    assert reading.text == "" and reading.commentary == Commentary()
    image = engine.encode_image(np.full((2, 3, 3), RED, np.uint8))
    np.testing.assert_allclose(image, EMBEDDING16, atol=1e-6)
    assert image.dtype == np.float32


def test_feelings_top_k_and_width_check(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    top = engine.feelings(np.array([0.2, 0.7, 0.5]), top_k=2)
    assert [label for label, _ in top] == ["fear", "joy"]
    np.testing.assert_allclose([p for _, p in top], [0.7, 0.5], atol=1e-6)
    assert all(type(p) is float for _, p in top)
    # scores [0.2, 0.7, 0.5, −0.2, 0.05, −0.05]; five by default
    assert [label for label, _ in engine.feelings(np.array([0.2, 0.7, 0.5]))] == \
        ["fear", "joy", "awe", "sadness", "disgust"]
    assert engine.feelings(np.array([0.2, 0.7, 0.5]), top_k=0) == []
    assert engine.feelings(np.array([0.2, 0.7, 0.5]), top_k=-3) == []
    with pytest.raises(EngineError):
        engine.feelings(np.zeros(4), top_k=1)
    with pytest.raises(EngineError):
        engine._session("no_such_graph")


def test_a_bundle_without_feelings_has_none(tmp_path):
    engine = _engine(tmp_path, feelings=False, warmup=False)
    assert engine.feelings(np.array(EMBEDDING), top_k=3) == []
    assert engine.describe(np.full((4, 4, 3), RED, np.uint8)).feelings == ()


def test_encode_text_gives_the_literal_token_ids(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    text = engine.encode_text("Sea storm")
    np.testing.assert_array_equal(text, _tokens(20, 30))
    assert text.dtype == np.float32 and text.shape == (hb.L,)
    np.testing.assert_array_equal(engine.encode_text(PROMPT), _tokens(*PROMPT_IDS))
    assert engine.encode_text(PROMPT).dtype == np.float32


def test_nearest_caption_by_cosine(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    match = engine.nearest_caption("sea storm")  # query [2, 20, 30, 3]: position 2 wins
    assert match.entry.caption == "rain on the sea"
    assert math.isclose(match.similarity, 30 / math.sqrt(4 + 400 + 900 + 9), rel_tol=1e-6)
    match = engine.nearest_caption("  storm   sea ")  # [2, 30, 20, 3]: position 1 wins
    assert match.entry.caption == "a calm piece"
    assert math.isclose(match.similarity, 30 / math.sqrt(4 + 900 + 400 + 9), rel_tol=1e-6)
    assert engine.nearest_caption("") is None and engine.nearest_caption(" \n ") is None
    assert _engine(tmp_path / "no-index", captions=False, warmup=False).nearest_caption("sea storm") is None


def test_build_prompt_is_the_literal_composite_prompt(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    assert engine.build_prompt("sea storm", ["awe"]) == PROMPT
    # no comment: the caption nearest to the feelings ("fear" = id 41 at position 1) fills Audio
    assert engine.build_prompt("", [("fear", 0.9)]) == \
        "Art Commentary: . Painting Emotion: fear. Audio: Music. Audio keywords: calm."
    # "fear, awe" = [2, 41, 13, 40, 3]: position 1 wins
    assert engine.build_prompt("", ["fear", "awe"]) == \
        "Art Commentary: . Painting Emotion: fear, awe. Audio: Music. Audio keywords: calm."
    assert engine.build_prompt("", []) == "Art Commentary: . Painting Emotion: . Audio: . Audio keywords: ."
    bare = _engine(tmp_path / "no-index", captions=False, warmup=False)
    assert bare.build_prompt("sea storm", ["awe", "joy"]) == \
        "Art Commentary: sea storm. Painting Emotion: awe, joy. Audio: . Audio keywords: ."


def test_prompt_follows_the_reading_rules(tmp_path):
    engine = _engine(tmp_path, captions=False, warmup=False)
    reading = Reading(np.zeros(3, np.float32), (("joy", 0.6), ("awe", 0.3)), Commentary(text="Calm water"))
    assert engine.prompt(reading) == \
        "Art Commentary: Calm water. Painting Emotion: joy. Audio: . Audio keywords: ."
    assert engine.prompt(reading, "Stormy", ["fear", "awe"]) == \
        "Art Commentary: Stormy. Calm water. Painting Emotion: fear, awe. Audio: . Audio keywords: ."
    engine.comment_policy = "replace"
    assert engine.prompt(reading, "Stormy", []) == \
        "Art Commentary: Stormy. Painting Emotion: . Audio: . Audio keywords: ."


def test_generate_mel_is_the_denormalised_decoder_output(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    image, text = np.array(EMBEDDING, np.float64), _tokens(20, 30)
    mel = engine.generate_mel(image, text)
    assert mel.shape == (hb.N_MELS, hb.FRAMES) and mel.dtype == np.float32
    np.testing.assert_allclose(mel, _expected_mel(image, text), atol=1e-5)
    assert not np.allclose(mel, hb.LOG_MIN) and not np.allclose(mel, hb.LOG_MAX)
    with pytest.raises(EngineError):
        engine.generate_mel(text, image)  # swapped: widths 24 and 3
    with pytest.raises(EngineError):
        engine.generate_mel(image, text[:5])


def test_vocode_and_stream_follow_the_vocoder_graph(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    mel = np.arange(24, dtype=np.float32).reshape(4, 6)  # column sums 36 + 4j
    whole = engine.vocode(mel)
    np.testing.assert_array_equal(whole, np.repeat(36 + 4 * np.arange(6) + 6, 4))
    assert whole.dtype == np.float32
    one = engine.vocode(np.array([[1.0], [2.0], [3.0], [4.0]]))  # one frame is a Mel too
    np.testing.assert_array_equal(one, [11.0] * 4)
    assert one.dtype == np.float32
    blocks = list(engine.vocode_stream(mel, chunk_frames=4))
    # chunk [0, 4) from window [0, 6) (2 context frames): T = 6; chunk [4, 6) from [2, 6): T = 4
    assert [b.size for b in blocks] == [16, 8]
    np.testing.assert_array_equal(blocks[0], np.repeat([42, 46, 50, 54], 4))
    np.testing.assert_array_equal(blocks[1], np.repeat([56, 60], 4))
    default = list(engine.vocode_stream(mel))  # 64 frames per chunk: one block
    assert len(default) == 1
    np.testing.assert_array_equal(default[0], whole)
    for bad in (np.zeros((3, 6)), np.zeros((4, 0)), np.zeros(24), np.zeros((1, 4, 6))):
        with pytest.raises(EngineError):
            engine.vocode(bad)
        with pytest.raises(EngineError):
            engine.vocode_stream(bad)


def test_compose_from_a_frame_and_from_a_reading(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    piece = engine.compose(np.full((6, 6, 3), RED, np.uint8), "sea storm", chunk_frames=4, target_dbfs=None)
    assert piece.prompt == PROMPT
    assert piece.feelings == ("awe",)
    np.testing.assert_allclose(piece.image_embedding, EMBEDDING16, atol=1e-6)
    np.testing.assert_array_equal(piece.text_embedding, _tokens(*PROMPT_IDS))
    expected = _expected_mel(EMBEDDING16, _tokens(*PROMPT_IDS))
    np.testing.assert_allclose(piece.log_mel, expected, atol=1e-5)
    assert (piece.sample_rate, piece.hop_length, piece.gain) == (800, 4, 1.0)
    assert type(piece.gain) is float
    assert set(piece.timings) == {"image", "prompt", "text", "mel"}
    assert all(0 <= t < 10 for t in piece.timings.values())
    assert [b.size for b in piece.blocks()] == [16, 8]
    sums = expected.sum(axis=0)
    np.testing.assert_allclose(np.concatenate(list(piece.blocks())),
                               np.repeat(np.concatenate([sums[:4] + 6, sums[4:] + 4]), 4),
                               rtol=1e-3, atol=1e-2)
    assert piece.reading.feelings[0][0] == "awe"

    reading = Reading(np.array(EMBEDDING, np.float32), (("joy", 0.9), ("awe", 0.1)))
    again = engine.compose(reading, "", ["fear"], target_dbfs=-12.0)
    assert again.reading is reading
    assert again.feelings == ("fear",)
    assert again.prompt == "Art Commentary: . Painting Emotion: fear. Audio: Music. Audio keywords: calm."
    assert set(again.timings) == {"prompt", "text", "mel"}
    audio = AudioConfig(800, 16, 16, 4, 4, 0.0, 400.0, 6, 1e-5)
    assert again.gain == pytest.approx(normalising_gain(again.log_mel, audio, -12.0), rel=1e-6)
    assert again.gain != pytest.approx(1.0)
    default = engine.compose(reading)
    assert default.feelings == ("joy",)
    assert default.prompt == "Art Commentary: . Painting Emotion: joy. Audio: Music. Audio keywords: calm."
    assert default.gain == pytest.approx(normalising_gain(default.log_mel, audio, -20.0), rel=1e-6)
    assert [b.size for b in default.blocks()] == [24]


def test_load_reports_providers_names_and_checks_hashes(tmp_path):
    engine = _engine(tmp_path, warmup=False)
    assert engine.providers == {g: ("CPUExecutionProvider",) for g in
                                ("image_encoder", "feelings", "text_encoder", "decoder", "vocoder")}
    assert engine.vocoder_name == "hifigan-test" and engine._vocoder.name == "hifigan-test"
    assert engine.audio.hop_length == 4 and engine.manifest.vocoder.context_frames == 2
    assert engine.comment_policy == "join"
    path = tmp_path / "bundle" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["decoder.onnx"] = "0" * 64
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError):
        Engine.load(tmp_path / "bundle", warmup=False)
    assert Engine.load(tmp_path / "bundle", verify=False, warmup=False).vocoder_name == "hifigan-test"


def test_griffin_lim_bundle(tmp_path):
    engine = _engine(tmp_path, vocoder="griffin_lim", warmup=True)
    assert engine.vocoder_name == "griffin_lim"
    assert isinstance(engine._vocoder, GriffinLimVocoder)
    assert engine._vocoder.audio.hop_length == 4 and engine._vocoder.crossfade == 16
    assert "vocoder" not in engine.providers
    audio = engine.vocode(np.full((4, 6), -2.0, np.float32))
    assert audio.shape == (24,) and audio.dtype == np.float32


def test_warmup_runs_every_graph_once(tmp_path, monkeypatch):
    ran = []
    real = GraphSession.run

    def spy(self, feeds):
        ran.append(self.graph)
        return real(self, feeds)

    monkeypatch.setattr(GraphSession, "run", spy)
    _engine(tmp_path, warmup=False)
    assert ran == []
    Engine.load(tmp_path / "bundle")
    assert sorted(ran) == ["decoder", "feelings", "image_encoder", "text_encoder", "text_encoder", "vocoder"]
    ran.clear()
    _engine(tmp_path / "gl", vocoder="griffin_lim", captions=False)
    assert sorted(ran) == ["decoder", "feelings", "image_encoder", "text_encoder"]


def test_shape_ranges_are_literal(tmp_path):
    manifest = Bundle.open(hb.write_bundle(tmp_path)).manifest
    assert _shape_ranges(manifest, 10) == {"frames": ShapeRange(1, 14, 6), "length": ShapeRange(1, 32, 24),
                                          "batch": ShapeRange(1, 1, 1)}
    assert _shape_ranges(replace(manifest, tokenizers={}), 3)["length"] == ShapeRange(1, 32, 1)


def test_load_passes_its_settings_to_every_session(tmp_path, monkeypatch):
    asked, settings = [], {}
    monkeypatch.setattr(engine_module, "resolve_providers",
                        lambda requested: asked.append(requested) or ["CPUExecutionProvider"])
    real = GraphSession.__init__

    def spy(self, graph, path, spec, file_hashes, session_settings):
        settings[graph] = session_settings
        real(self, graph, path, spec, file_hashes, session_settings)

    monkeypatch.setattr(GraphSession, "__init__", spy)
    _engine(tmp_path, providers=["cpu"], warmup=False)
    assert asked == [["cpu"]]
    s = settings["decoder"]
    assert s.providers == ("CPUExecutionProvider",) and s.intra_op_threads == 0
    assert s.spinning_graphs == frozenset({"decoder"}) and s.cache_root == tmp_path / "bundle" / "trt_cache"
    Engine.load(tmp_path / "bundle", warmup=False, intra_op_threads=2)
    assert settings["vocoder"].intra_op_threads == 2


def test_commentary_is_read_from_the_image_graph(tmp_path):
    engine = _engine(tmp_path, commentary=COMMENTARY, warmup=False)
    reading = engine.describe(np.full((4, 4, 3), RED, np.uint8))
    assert reading.text == TEXT
    assert [phrase for phrase, _ in reading.commentary.subjects] == ["a red sky", "the blue sea"]
    np.testing.assert_allclose([p for _, p in reading.commentary.subjects], [1.0, 0.55], atol=1e-3)
    # comment and commentary are joined (engine.reading), then cut by tokens to the hand-made
    # encoder's 24, so that the feelings and audio parts stay whole (issue 10)
    assert engine.compose(reading, "sea storm", target_dbfs=None).prompt == PROMPT
    # the commentary alone: its first two words fill the 24 tokens as "sea storm" does
    assert engine.compose(reading, "", target_dbfs=None).prompt == \
        "Art Commentary: A painting. Painting Emotion: awe. Audio: Rain, Music. Audio keywords: waves."
    # the same graphs without the vocabulary say nothing
    bare = Engine(engine.bundle, engine._sessions, engine._tokenizers, engine._vocoder, engine._captions)
    assert bare.describe(np.full((4, 4, 3), RED, np.uint8)).commentary == Commentary()


def test_commentary_from_classes_only_or_colour_only(tmp_path):
    frame = np.full((4, 4, 3), RED, np.uint8)
    classes = _engine(tmp_path / "a", commentary={"class_output": "classes", "colour_output": "absent"},
                      warmup=False)
    assert classes.describe(frame).text == "A painting of a red sky and the blue sea."
    colour = _engine(tmp_path / "b", commentary={"colour_output": "colour",
                                                 "colour_features": list(hb.COLOUR_FEATURES)}, warmup=False)
    assert colour.describe(frame).text == ("A painting in soft light, with warm rich colours of red and "
                                           "orange, strong contrasts; busy with detail.")


def test_griffin_lim_stream_cross_fades_its_blocks(tmp_path):
    engine = _engine(tmp_path, vocoder="griffin_lim", warmup=False)
    mel = np.linspace(-4, 0, 24, dtype=np.float32).reshape(4, 6)
    blocks = list(engine.vocode_stream(mel, chunk_frames=2))
    faded = list(stream_vocode(engine._vocoder, mel, 4, 2, 2, 16))
    plain = list(stream_vocode(engine._vocoder, mel, 4, 2, 2, 0))
    assert len(blocks) == 3
    for got, want in zip(blocks, faded, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(blocks[1], plain[1])


def test_unlisted_files_key_their_engines_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "resolve_providers",
                        lambda requested: ["TensorrtExecutionProvider", "CPUExecutionProvider"])
    bundle = hb.write_bundle(tmp_path / "bundle")
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]["vocoder.onnx"]
    path.write_text(json.dumps(manifest))
    Engine.load(bundle, verify=False, warmup=False)
    record = json.loads(next((bundle / "trt_cache").glob("vocoder-*/key.json")).read_text())
    assert record["file_sha256"] == ["unlisted:vocoder.onnx"]


def test_tensorrt_profiles_and_cache_folder_of_a_load(tmp_path, monkeypatch):
    """Asked for TensorRT on a build without it, the engine still writes each graph's key record,
    which shows the cache folder, the precision and the optimisation profile it would use."""
    monkeypatch.setattr(engine_module, "resolve_providers",
                        lambda requested: ["TensorrtExecutionProvider", "CPUExecutionProvider"])
    bundle = hb.write_bundle(tmp_path / "bundle")
    Engine.load(bundle, warmup=False)
    records = {p.parent.name.split("-")[0]: json.loads(p.read_text())
               for p in (bundle / "trt_cache").glob("*/key.json")}
    assert sorted(records) == ["feelings", "image_encoder", "text_encoder", "vocoder"]  # decoder kept off
    assert records["vocoder"]["fp16"] is True and records["text_encoder"]["fp16"] is False
    assert records["vocoder"]["profile"] == {"trt_profile_min_shapes": "log_mel:1x4x1",
                                             "trt_profile_opt_shapes": "log_mel:1x4x68",
                                             "trt_profile_max_shapes": "log_mel:1x4x6"}
    assert records["text_encoder"]["profile"] == {"trt_profile_min_shapes": "tokens:1x1",
                                                  "trt_profile_opt_shapes": "tokens:1x32",
                                                  "trt_profile_max_shapes": "tokens:1x24"}
    assert set(records["feelings"]["profile"].values()) == {"image_emb:1x3"}
    files = json.loads((bundle / "manifest.json").read_text())["files"]
    assert records["vocoder"]["file_sha256"] == [files["vocoder.onnx"]]
    Engine.load(bundle, warmup=False, cache_dir=tmp_path / "elsewhere")
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "elsewhere").iterdir()) == \
        ["feelings", "image_encoder", "text_encoder", "vocoder"]
