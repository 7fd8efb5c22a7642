"""Known answers for engine/session.py: the session options and provider lists handed to
onnxruntime (recorded by a wrapper), the fallback order, and input casting, on hand-made graphs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import onnxruntime as ort
import pytest

import engine.session as session_module
from engine.bundle import Bundle
from engine.errors import EngineError
from engine.providers import CPU, CUDA, TENSORRT
from engine.session import GraphSession, SessionSettings
from tests.engine import handmade_bundle as hb

REAL = ort.InferenceSession


class _Recorder:
    def __init__(self, failing=()):
        self.calls = []
        self.failing = failing

    def __call__(self, path, sess_options=None, providers=()):
        names = [p[0] if isinstance(p, tuple) else p for p in providers]
        self.calls.append((sess_options, names, providers))
        if names[0] in self.failing:
            raise RuntimeError(f"{names[0]} failed\nsecond line")
        return REAL(path, sess_options=sess_options, providers=[CPU])


def _bundle(tmp_path):
    return Bundle.open(hb.write_bundle(tmp_path / "bundle"))


def _session(bundle, graph, settings, hashes="ab"):
    spec = bundle.manifest.graphs[graph]
    return GraphSession(graph, bundle.path(spec.file), spec, hashes, settings)


def test_session_options_follow_the_settings(tmp_path, monkeypatch):
    recorder = _Recorder()
    monkeypatch.setattr(session_module.ort, "InferenceSession", recorder)
    bundle = _bundle(tmp_path)
    settings = SessionSettings((CPU,), tmp_path / "cache", intra_op_threads=2,
                               spinning_graphs=frozenset({"decoder"}))
    _session(bundle, "decoder", settings)
    _session(bundle, "vocoder", settings)
    (spin, _, _), (sleep, _, _) = recorder.calls
    assert spin.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert sleep.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert spin.intra_op_num_threads == 2 and spin.log_severity_level == 3
    assert spin.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_fallback_walks_the_provider_list(tmp_path, monkeypatch):
    recorder = _Recorder(failing=(TENSORRT, CUDA))
    monkeypatch.setattr(session_module.ort, "InferenceSession", recorder)
    bundle = _bundle(tmp_path)
    settings = SessionSettings((TENSORRT, CUDA, CPU), tmp_path / "cache")
    session = _session(bundle, "vocoder", settings, hashes=["cd" * 32])
    assert [names for _, names, _ in recorder.calls] == [[TENSORRT, CUDA, CPU], [CUDA, CPU], [CPU]]
    assert session.providers == (CPU,)
    trt_entry = recorder.calls[0][2][0]
    assert trt_entry[1]["trt_fp16_enable"] is True  # the vocoder's fp16_compute
    record = json.loads(next((tmp_path / "cache").glob("vocoder-*/key.json")).read_text())
    assert record["file_sha256"] == ["cd" * 32]
    recorder.calls.clear()
    _session(bundle, "decoder", settings)  # kept off TensorRT by the manifest
    assert [names for _, names, _ in recorder.calls] == [[CUDA, CPU], [CPU]]
    for providers in ((CUDA,), (TENSORRT, CUDA)):
        with pytest.raises(EngineError):
            _session(bundle, "image_encoder", SessionSettings(providers, tmp_path / "cache"))
    recorder.failing = (CPU,)
    recorder.calls.clear()
    with pytest.raises(EngineError):  # CPU fails too: nothing left to try
        _session(bundle, "image_encoder", SessionSettings((CPU,), tmp_path / "cache"))
    assert [names for _, names, _ in recorder.calls] == [[CPU]]


def test_a_string_hash_is_one_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module.ort, "InferenceSession", _Recorder())
    bundle = _bundle(tmp_path)
    _session(bundle, "vocoder", SessionSettings((TENSORRT, CPU), tmp_path / "cache"), hashes="ef" * 32)
    record = json.loads(next((tmp_path / "cache").glob("vocoder-*/key.json")).read_text())
    assert record["file_sha256"] == ["ef" * 32]


def test_run_casts_feeds_to_the_graph_input_types(tmp_path):
    bundle = _bundle(tmp_path)
    settings = SessionSettings((CPU,), tmp_path / "cache")
    feelings = _session(bundle, "feelings", settings)
    assert feelings.input_names == ("image_emb",)
    out = feelings.run({"image_emb": np.array([[1.0, -1.0, 0.5]], np.float64)})
    assert len(out) == 1 and out[0].dtype == np.float32
    np.testing.assert_allclose(out[0], [[1.0, -1.0, 0.5, 0.2, -0.8, -0.05]], atol=1e-6)
    text = _session(bundle, "text_encoder", settings)
    np.testing.assert_array_equal(text.run({"tokens": np.array([[2.0, 7.0, 3.0]])})[0], [[2, 7, 3]])
    spec = bundle.manifest.graphs["feelings"]
    odd = replace(spec, inputs=(replace(spec.inputs[0], dtype="float"),))  # unknown name: float32
    session = GraphSession("feelings", bundle.path(spec.file), odd, "ab", settings)
    np.testing.assert_allclose(session.run({"image_emb": np.ones((1, 3), np.float64)})[0][0, :3], [1, 1, 1])
    image = _session(bundle, "image_encoder", settings)
    outputs = image.run({"pixels": np.ones((1, 3, 4, 4))})
    assert [o.shape for o in outputs] == [(1, 3), (1, 3), (1, 19)]
