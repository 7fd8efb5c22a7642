"""TensorRT through onnxruntime's TensorRT execution provider: options and the engine cache.

Engines are built on first use and cached next to the bundle in ``trt_cache/<graph>-<sha16>/``,
keyed by the graph file's SHA-256, so a re-exported graph gets a fresh folder (and the stale
folders of that graph are removed). A timing cache shared by all graphs makes rebuilds fast.
Nothing here imports ``tensorrt``: onnxruntime-gpu loads the TensorRT libraries itself, and a
build without them simply does not list the provider (see engine.providers).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_DIR_NAME = "trt_cache"
WORKSPACE_BYTES = 4 << 30


def tensorrt_installed() -> bool:
    """True when the `tensorrt` Python package is importable (a GPU site's optional extra)."""
    return importlib.util.find_spec("tensorrt") is not None


def graph_cache_dir(cache_root: Path, graph: str, sha256: str) -> Path:
    """Folder of one graph's engines, keyed by the ONNX file hash."""
    return Path(cache_root) / f"{graph}-{sha256[:16]}"


def prune_stale_caches(cache_root: Path, graph: str, keep: Path) -> None:
    """Deletes the engine folders of `graph` built from other versions of its ONNX file."""
    if not Path(cache_root).is_dir():
        return
    for folder in Path(cache_root).glob(f"{graph}-*"):
        if folder.is_dir() and folder != keep:
            logger.info("removing stale TensorRT engines %s", folder)
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class ShapeRange:
    """Min / optimal / max size of one symbolic dimension for a TensorRT optimisation profile."""

    minimum: int
    optimum: int
    maximum: int


def _profile(inputs: Mapping[str, tuple], ranges: Mapping[str, ShapeRange], pick: str) -> str:
    shapes = []
    for name, shape in inputs.items():
        dims = [str(getattr(ranges[d], pick)) if isinstance(d, str) else str(d) for d in shape]
        shapes.append(f"{name}:{'x'.join(dims)}")
    return ",".join(shapes)


def tensorrt_options(cache_root: Path, graph: str, sha256: str, fp16: bool,
                     inputs: Mapping[str, tuple] | None = None,
                     ranges: Mapping[str, ShapeRange] | None = None) -> dict[str, object]:
    """TensorRT provider options for one graph: engine + timing cache, fp16 where parity held.

    For graphs with symbolic input dimensions, `inputs` (name → shape) and `ranges` (symbolic
    dimension → ShapeRange) give an explicit optimisation profile so no shape rebuilds mid-visit.
    """
    folder = graph_cache_dir(cache_root, graph, sha256)
    folder.mkdir(parents=True, exist_ok=True)
    prune_stale_caches(cache_root, graph, folder)
    options: dict[str, object] = {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(folder),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache_root),
        "trt_fp16_enable": bool(fp16),
        "trt_max_workspace_size": WORKSPACE_BYTES,
    }
    dynamic = {n: s for n, s in (inputs or {}).items() if any(isinstance(d, str) for d in s)}
    if dynamic and ranges:
        options["trt_profile_min_shapes"] = _profile(dynamic, ranges, "minimum")
        options["trt_profile_opt_shapes"] = _profile(dynamic, ranges, "optimum")
        options["trt_profile_max_shapes"] = _profile(dynamic, ranges, "maximum")
    return options
