"""Runs the benchmark of one bundle: engine stages, memory, and the PyTorch eager comparison."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.inputs import COMMENT, camera_frame
from bench.latency import ONE_PASS, TO_PIECE, time_eager, time_engine
from bench.memory import PeakRSS, gpu_memory_mb
from bench.report import BenchResult, weights_label
from bench.stats import Summary
from engine import Engine
from engine.engine import DEFAULT_CHUNK_FRAMES

logger = logging.getLogger(__name__)


@dataclass
class BenchConfig:
    bundle: Path
    repeats: int = 10
    providers: list[str] | None = None
    chunk_frames: int = DEFAULT_CHUNK_FRAMES
    eager: bool = True
    threads: int = 0
    cache_dir: Path | None = None
    """TensorRT engine cache (default ``<bundle>/trt_cache``); an empty one times the build."""
    vocoder: str = "auto"
    """Which of the bundle's vocoders plays (engine.engine.VOCODER_CHOICES), as in the kiosk."""


def _summaries(timings: dict[str, list[float]]) -> dict[str, Summary]:
    return {stage: Summary.of(values) for stage, values in timings.items()}


def run_benchmark(config: BenchConfig) -> BenchResult:
    """Engine first (its peak RSS measured before torch is imported), then eager."""
    frame = camera_frame()
    with PeakRSS() as engine_rss:
        loading = time.perf_counter()
        engine = Engine.load(config.bundle, providers=config.providers,
                             intra_op_threads=config.threads, cache_dir=config.cache_dir,
                             vocoder=config.vocoder)
        load_seconds = time.perf_counter() - loading
        engine_timings = time_engine(engine, frame, COMMENT, config.repeats,
                                     config.chunk_frames)
    gpu = gpu_memory_mb()
    result = BenchResult(_summaries(engine_timings))
    result.untrained = bool(engine.manifest.provenance.get("untrained"))
    clip = engine.audio.clip_seconds
    result.facts = {
        "bundle": str(config.bundle),
        "weights": weights_label(engine.manifest),
        "graph_precision": ", ".join(f"{name}={spec.weights}" for name, spec
                                     in engine.manifest.graphs.items()),
        "providers": ",".join(sorted({p[0] for p in engine.providers.values()})),
        "vocoder": engine.vocoder_name,
        "cpu_cores": os.cpu_count(),
        "clip_seconds": round(clip, 3),
        "repeats": config.repeats,
        "chunk_frames": config.chunk_frames,
        "real_time_factor": round(result.engine[TO_PIECE].median / clip, 4),
        "real_time_factor_one_pass": round(result.engine[ONE_PASS].median / clip, 4),
        "engine_peak_rss_mb": round(engine_rss.peak_mb, 1),
        # Sessions + one warm-up run of every graph: TensorRT builds its engines here when the
        # cache is cold and loads them when it is warm, so cold − warm is the build time.
        "engine_load_s": round(load_seconds, 3),
        "gpu_memory_mb": None if gpu is None else round(gpu, 1),
    }
    if config.eager:
        from bench.eager import load_eager

        with PeakRSS() as eager_rss:
            pipeline = load_eager(engine.manifest, engine.bundle.directory)
            if pipeline is not None:
                prompt = engine.build_prompt(COMMENT, ["contentment"])
                result.eager = _summaries(time_eager(pipeline, frame, prompt, config.repeats))
        if pipeline is not None:
            from bench.agreement import FP32_TARGET, max_abs_differences

            playing = engine.vocoder_name
            engine.choose_vocoder("full")  # eager has the full vocoder's weights only
            result.differences = max_abs_differences(engine, pipeline, frame, prompt)
            if playing != engine.vocoder_name:
                result.facts["eager_vocoder"] = f"{engine.vocoder_name} (the engine played {playing})"
            worst = max(result.differences.values())
            result.facts[f"max_abs_diff_vs_eager (fp32 target {FP32_TARGET:g})"] = f"{worst:.1e}"
            result.facts["eager_peak_rss_mb"] = round(eager_rss.peak_mb, 1)
            if ONE_PASS in result.eager:
                result.facts["eager_real_time_factor_one_pass"] = round(
                    result.eager[ONE_PASS].median / clip, 4)
    return result
