"""Provider choice (TensorRT → CUDA → CPU, with logged fallback) and TensorRT cache options."""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
import pytest

from engine import Engine, EngineError
from engine.manifest import DECODER, IMAGE_ENCODER
from engine.providers import CPU, CUDA, TENSORRT, canonical_name, resolve_providers
from engine.tensorrt import ShapeRange, graph_cache_dir, tensorrt_options

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
    folder = graph_cache_dir(tmp_path, "vocoder", "ab" * 32)
    assert options["trt_engine_cache_path"] == str(folder) and folder.is_dir()
    assert not stale.exists()  # engines of an older export are removed
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_fp16_enable"] is True
    assert options["trt_profile_min_shapes"] == "log_mel:1x80x1"
    assert options["trt_profile_opt_shapes"] == "log_mel:1x80x80"
    assert options["trt_profile_max_shapes"] == "log_mel:1x80x896"
    fixed = tensorrt_options(tmp_path, "image_encoder", "cd" * 32, fp16=False,
                             inputs={"pixels": (1, 3, 224, 224)}, ranges={})
    assert "trt_profile_min_shapes" not in fixed and fixed["trt_fp16_enable"] is False


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
