"""Provider choice (TensorRT → CUDA → CPU, with logged fallback) and TensorRT cache options."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from engine import Engine, EngineError
from engine import providers as engine_providers
from engine import session as engine_session
from engine.manifest import DECODER, IMAGE_ENCODER, VOCODER
from engine.providers import CPU, CUDA, TENSORRT, canonical_name, resolve_providers
from engine.tensorrt import ShapeRange, engine_cache_key, graph_cache_dir, tensorrt_options

HAS_GPU_PROVIDER = bool({CUDA, TENSORRT} & set(ort.get_available_providers()))


def test_default_order_is_tensorrt_then_cuda_then_cpu():
    assert resolve_providers(None, [CPU, CUDA, TENSORRT]) == [TENSORRT, CUDA, CPU]
    assert resolve_providers(None, [CPU]) == [CPU]


def test_asking_for_gpus_on_a_cpu_build_falls_back_with_a_log_line(caplog):
    with caplog.at_level(logging.WARNING, logger="engine.providers"):
        assert resolve_providers(["tensorrt", "cuda"], [CPU]) == [CPU]
    assert "falling back to CPUExecutionProvider" in caplog.text


def test_overrides_accept_short_names_and_comma_lists():
    assert resolve_providers("cuda,cpu", [CUDA, CPU, TENSORRT]) == [CUDA, CPU]
    assert resolve_providers(["CPUExecutionProvider"], [CUDA, CPU]) == [CPU]
    with pytest.raises(EngineError, match="use tensorrt, cuda or cpu"):
        canonical_name("tpu")


@pytest.mark.skipif(HAS_GPU_PROVIDER, reason="this onnxruntime build has GPU providers")
def test_engine_asked_for_tensorrt_runs_on_cpu_here(tiny_bundle, caplog):
    with caplog.at_level(logging.WARNING):
        engine = Engine.load(tiny_bundle, providers=["tensorrt", "cuda"], warmup=False)
    assert {p[0] for p in engine.providers.values()} == {CPU}
    assert "falling back" in caplog.text


def test_tensorrt_engines_are_cached_per_graph_hash(tmp_path):
    stale = graph_cache_dir(tmp_path, "vocoder", "0" * 64)
    stale.mkdir(parents=True)
    options = tensorrt_options(tmp_path, "vocoder", "ab" * 32, fp16=True,
                               inputs={"log_mel": (1, 80, "frames")},
                               ranges={"frames": ShapeRange(1, 80, 896)})
    folder = Path(options["trt_engine_cache_path"])
    assert folder.parent == tmp_path and folder.name.startswith("vocoder-") and folder.is_dir()
    record = json.loads((folder / "key.json").read_text())
    assert record["file_sha256"] == ["ab" * 32] and record["fp16"] is True
    assert folder == graph_cache_dir(tmp_path, "vocoder", record["key"])
    assert not stale.exists()  # engines of an older export are removed
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_timing_cache_path"] == str(tmp_path)
    assert options["trt_fp16_enable"] is True
    assert options["trt_profile_min_shapes"] == "log_mel:1x80x1"
    assert options["trt_profile_opt_shapes"] == "log_mel:1x80x80"
    assert options["trt_profile_max_shapes"] == "log_mel:1x80x896"
    fixed = tensorrt_options(tmp_path, "image_encoder", "cd" * 32, fp16=False,
                             inputs={"pixels": (1, 3, 224, 224)}, ranges={})
    assert "trt_profile_min_shapes" not in fixed and fixed["trt_fp16_enable"] is False


def test_cache_key_follows_every_graph_file_precision_and_runtime():
    key = engine_cache_key(["a" * 64, "b" * 64], fp16=True, profile="p", runtime="ort=1")
    assert key == engine_cache_key(["a" * 64, "b" * 64], True, "p", "ort=1")  # deterministic
    for other in (engine_cache_key(["c" * 64, "b" * 64], True, "p", "ort=1"),  # ONNX changed
                  engine_cache_key(["a" * 64, "c" * 64], True, "p", "ort=1"),  # weights changed
                  engine_cache_key(["a" * 64, "b" * 64], False, "p", "ort=1"),
                  engine_cache_key(["a" * 64, "b" * 64], True, "q", "ort=1"),
                  engine_cache_key(["a" * 64, "b" * 64], True, "p", "ort=2")):
        assert other != key
    assert engine_cache_key("a" * 64, True, "", "r") == engine_cache_key(["a" * 64], True, "", "r")


def test_an_unchanged_graph_reuses_its_engines_and_a_changed_one_rebuilds(tmp_path):
    def options(sha: str) -> Path:
        return Path(tensorrt_options(tmp_path, "image_encoder", [sha], fp16=True)
                    ["trt_engine_cache_path"])

    first = options("1" * 64)
    (first / "built.engine").write_bytes(b"serialised engine")
    assert options("1" * 64) == first and (first / "built.engine").is_file()  # cache hit
    second = options("2" * 64)  # the ONNX file was re-exported
    assert second != first and not first.exists()
    assert not (second / "built.engine").exists()  # empty folder: TensorRT builds anew
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("image_encoder-")] == \
        [second.name]


class _NoTensorRT:
    """Stands in for ort.InferenceSession on a build whose TensorRT libraries fail to load."""

    calls: list = []

    def __new__(cls, path, sess_options=None, providers=()):
        cls.calls.append(list(providers))
        if any(isinstance(p, tuple) and p[0] == TENSORRT for p in providers):
            raise RuntimeError("TensorRT EP could not be created: libnvinfer.so.10 not found")
        return _REAL_SESSION(path, sess_options=sess_options, providers=providers)


_REAL_SESSION = ort.InferenceSession


def test_a_provider_that_fails_to_start_falls_back_and_is_keyed_on_the_verified_hash(
        tiny_bundle, tmp_path, monkeypatch, caplog):
    """No GPU needed: TensorRT is 'available' but fails to start, so the session falls back to
    CPU with a log line, after asking for engines cached under the manifest's SHA-256."""
    monkeypatch.setattr(engine_providers, "available_providers", lambda: [TENSORRT, CPU])
    monkeypatch.setattr(engine_session.ort, "InferenceSession", _NoTensorRT)
    _NoTensorRT.calls = []
    with caplog.at_level(logging.WARNING):
        engine = Engine.load(tiny_bundle, providers=["tensorrt", "cpu"], warmup=False,
                             cache_dir=tmp_path)
    assert {p[0] for p in engine.providers.values()} == {CPU}
    assert "TensorrtExecutionProvider failed to start" in caplog.text
    assert "falling back to CPUExecutionProvider" in caplog.text
    manifest = engine.manifest
    asked = [entry for call in _NoTensorRT.calls for entry in call if isinstance(entry, tuple)]
    folders = {Path(options["trt_engine_cache_path"]).name for _, options in asked}
    assert folders and not any(f.startswith(f"{DECODER}-") for f in folders)  # BiLSTM: no TRT
    for graph in (IMAGE_ENCODER, VOCODER):
        spec = manifest.graphs[graph]
        record = json.loads(next(tmp_path.glob(f"{graph}-*/key.json")).read_text())
        assert record["file_sha256"] == [manifest.files[f] for f in spec.files]
        assert record["fp16"] == spec.fp16_compute


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU_PROVIDER, reason="needs onnxruntime-gpu and an NVIDIA GPU")
def test_gpu_engine_matches_cpu_and_keeps_the_decoder_off_tensorrt(tiny_bundle):
    gpu = Engine.load(tiny_bundle)
    cpu = Engine.load(tiny_bundle, providers=["cpu"])
    assert gpu.providers[IMAGE_ENCODER][0] in (TENSORRT, CUDA)
    assert gpu.providers[DECODER][0] != TENSORRT
    picture = np.full((64, 48, 3), 90, np.uint8)
    image = gpu.encode_image(picture)
    assert np.abs(image - cpu.encode_image(picture)).max() < 1e-2
    text = cpu.encode_text("calm")
    assert np.abs(gpu.generate_mel(image, text) - cpu.generate_mel(image, text)).max() < 5e-2


@pytest.mark.gpu
@pytest.mark.skipif(TENSORRT not in ort.get_available_providers(),
                    reason="needs onnxruntime-gpu with TensorRT libraries and an NVIDIA GPU")
def test_tensorrt_engines_are_built_once_and_reused(tiny_bundle, tmp_path):
    first = Engine.load(tiny_bundle, cache_dir=tmp_path)
    assert first.providers[IMAGE_ENCODER][0] == TENSORRT
    engines = sorted(tmp_path.glob(f"{IMAGE_ENCODER}-*/*.engine"))
    assert engines, "TensorRT wrote no engine into the cache"
    stamps = [p.stat().st_mtime_ns for p in engines]
    Engine.load(tiny_bundle, cache_dir=tmp_path)
    assert [p.stat().st_mtime_ns for p in engines] == stamps  # loaded, not rebuilt
