"""Known answers for the caption corpus and its embeddings (export/captions.py)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from engine.captions import CaptionEntry
from export.captions import CaptionCorpus, embed_captions, read_captions
from export.errors import ExportError


def _jsonl(path, rows, raw: str = ""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + raw, encoding="utf-8")
    return path


def test_corpus_rows_labels_keywords_licences(tmp_path) -> None:
    path = _jsonl(tmp_path / "music.jsonl", [
        {"caption": "  calm harp  ", "labels": ["Music", "Harp"], "keywords": ["calm"], "licence": "CC0"},
        {"caption": "calm harp", "labels": ["Other"], "licence": "CC-BY"},   # duplicate: ignored
        {"caption": "", "labels": ["Music"], "licence": "GPL"},             # empty: ignored
        {"labels": ["Music"]},                                               # no caption
        {"caption": "loud drums", "audio_labels": ["Drums"], "labels": ["X"],
         "caption_keywords": ["loud"], "keywords": ["Y"], "licence": ""},
        {"caption": "bare", "labels": None, "keywords": None},
        {"caption": 42, "licence": 7},
    ], raw="\n   \n")
    corpus = read_captions(str(path))
    assert corpus.entries == [CaptionEntry("calm harp", ("Music", "Harp"), ("calm",)),
                              CaptionEntry("loud drums", ("Drums",), ("loud",)),
                              CaptionEntry("bare", (), ()),
                              CaptionEntry("42", (), ())]
    assert corpus.licences == {"CC0", "7"}
    assert corpus.source == str(path.resolve())


def test_a_data_set_directory_reads_its_manifest(tmp_path) -> None:
    _jsonl(tmp_path / "manifest.jsonl", [{"caption": "a", "audio_labels": ["L"]}])
    corpus = read_captions(tmp_path)
    assert corpus.entries == [CaptionEntry("a", ("L",), ())]
    assert corpus.licences == set()
    assert corpus.source == str(tmp_path.resolve())


def test_a_directory_without_manifest_is_an_error(tmp_path) -> None:
    _jsonl(tmp_path / "other.jsonl", [{"caption": "a"}])
    with pytest.raises(ExportError):
        read_captions(tmp_path)


def test_bad_json_line_is_an_export_error(tmp_path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [{"caption": "a"}], raw="{oops\n")
    with pytest.raises(ExportError, match="line 2"):
        read_captions(path)


def test_corpus_defaults() -> None:
    corpus = CaptionCorpus([])
    assert (corpus.licences, corpus.source) == (set(), "")


WORDS = {"up": [3.0, 4.0, 0.0], "side": [0.0, 0.0, 2.0], "zero": [0.0, 0.0, 0.0],
         "mix": [1.0, 1.0, 1.0], "tiny": [1e-3, 0.0, 0.0]}


class _Tokenizer:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def feeds(self, texts):
        self.batches.append(list(texts))
        return {"x": np.array([WORDS[t] for t in texts], dtype=np.float32)}


def _graph(path, batch) -> str:
    """y = 2·x, batch `batch` (an int or a symbolic name)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"])], "g", [x], [y], [two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _entries(*names):
    return [CaptionEntry(n, (), ()) for n in names]


def test_embeddings_are_unit_float16_in_batches(tmp_path) -> None:
    tokenizer, sizes = _Tokenizer(), []
    vectors = embed_captions(_graph(tmp_path / "g.onnx", "n"), tokenizer,
                             _entries("up", "side", "zero", "mix", "tiny"), batch_size=2,
                             progress=sizes.append)
    assert vectors.dtype == np.float16
    expected = np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0],
                         [3 ** -0.5] * 3, [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(vectors.astype(np.float64), expected, atol=1e-3)
    assert tokenizer.batches == [["up", "side"], ["zero", "mix"], ["tiny"]]
    assert sizes == [2, 2, 1]


def test_default_batch_is_64(tmp_path) -> None:
    tokenizer = _Tokenizer()
    names = ["up", "side", "mix"] * 30  # 90 captions
    vectors = embed_captions(_graph(tmp_path / "g.onnx", "n"), tokenizer, _entries(*names))
    assert [len(b) for b in tokenizer.batches] == [64, 26]
    assert vectors.shape == (90, 3)


def test_a_batch_one_graph_is_fed_one_caption_at_a_time(tmp_path) -> None:
    tokenizer, sizes = _Tokenizer(), []
    vectors = embed_captions(_graph(tmp_path / "g.onnx", 1), tokenizer, _entries("up", "side", "mix"),
                             batch_size=8, progress=sizes.append)
    assert tokenizer.batches == [["up"], ["side"], ["mix"]]
    assert sizes == [1, 1, 1]
    np.testing.assert_allclose(vectors[0].astype(np.float64), [0.6, 0.8, 0.0], atol=1e-3)


def test_captions_are_embedded_on_the_cpu_provider_quietly(tmp_path, monkeypatch) -> None:
    import export.captions as captions

    made, real = [], ort.InferenceSession

    def spy(path, options=None, providers=None):
        made.append((path, options, providers))
        return real(path, options, providers=providers)

    monkeypatch.setattr(captions.ort, "InferenceSession", spy)
    graph = _graph(tmp_path / "g.onnx", "n")
    embed_captions(graph, _Tokenizer(), _entries("up"))
    (path, options, providers), = made
    assert path == str(graph)
    assert providers == ["CPUExecutionProvider"]
    assert options.log_severity_level == 3  # errors and fatal only
