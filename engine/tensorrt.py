"""TensorRT through onnxruntime's TensorRT execution provider: options and the engine cache.

Engines are built on first use and cached next to the bundle in ``trt_cache/<graph>-<key16>/``.
The key (``engine_cache_key``) is a SHA-256 over the SHA-256 of every file of the graph (the
ONNX file and its external weights, as the verified manifest lists them), the fp16 switch, the
optimisation profile and the onnxruntime/TensorRT versions. So a re-exported graph, a changed
precision or an upgraded runtime gets a fresh folder (TensorRT rebuilds there) and the stale
folders of that graph are removed; an unchanged graph reuses its engines. Each folder holds a
``key.json`` saying what it was built from. A timing cache shared by all graphs makes rebuilds
fast.
Nothing here imports ``tensorrt``: onnxruntime-gpu loads the TensorRT libraries itself, and a
build without them simply does not list the provider (see engine.providers).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_DIR_NAME = "trt_cache"
WORKSPACE_BYTES = 4 << 30


def tensorrt_installed() -> bool:
    """True when the `tensorrt` Python package is importable (a GPU site's optional extra)."""
    return importlib.util.find_spec("tensorrt") is not None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def runtime_versions() -> str:
    """Versions that make a serialised engine stale: onnxruntime(-gpu) and TensorRT."""
    names = ("onnxruntime-gpu", "onnxruntime", "tensorrt", "tensorrt-cu12", "tensorrt-libs")
    return ",".join(f"{name}={version}" for name in names if (version := _version(name)))


def engine_cache_key(file_hashes: str | Sequence[str], fp16: bool, profile: str = "",
                     runtime: str | None = None) -> str:
    """Hex SHA-256 naming a graph's engine folder.

    Covers every file hash of the graph (the ONNX file and its external weight file, whose
    bytes can change while the small ``.onnx`` stays the same), the fp16 switch, the shape
    profile and the runtime versions (``runtime_versions()`` unless given).
    """
    hashes = [file_hashes] if isinstance(file_hashes, str) else list(file_hashes)
    if not hashes:
        raise ValueError("a TensorRT cache key needs at least one file hash")
    parts = [*hashes, f"fp16={int(bool(fp16))}", f"profile={profile}",
             f"runtime={runtime_versions() if runtime is None else runtime}"]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def graph_cache_dir(cache_root: Path, graph: str, key: str) -> Path:
    """Folder of one graph's engines for one cache key (see engine_cache_key)."""
    return Path(cache_root) / f"{graph}-{key[:16]}"


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


def tensorrt_options(cache_root: Path, graph: str, file_hashes: str | Sequence[str], fp16: bool,
                     inputs: Mapping[str, tuple] | None = None,
                     ranges: Mapping[str, ShapeRange] | None = None) -> dict[str, object]:
    """TensorRT provider options for one graph: engine + timing cache, fp16 where parity held.

    `file_hashes` are the manifest's SHA-256 of the graph's files (verified at load); the
    engine folder is keyed on them (engine_cache_key) and stale folders of `graph` are removed.
    For graphs with symbolic input dimensions, `inputs` (name → shape) and `ranges` (symbolic
    dimension → ShapeRange) give an explicit optimisation profile so no shape rebuilds mid-visit.
    """
    profile: dict[str, str] = {}
    dynamic = {n: s for n, s in (inputs or {}).items() if any(isinstance(d, str) for d in s)}
    if dynamic and ranges:
        profile = {f"trt_profile_{pick}_shapes": _profile(dynamic, ranges, attribute)
                   for pick, attribute in (("min", "minimum"), ("opt", "optimum"),
                                           ("max", "maximum"))}
    hashes = [file_hashes] if isinstance(file_hashes, str) else list(file_hashes)
    runtime = runtime_versions()
    key = engine_cache_key(hashes, fp16, ";".join(profile.values()), runtime)
    folder = graph_cache_dir(cache_root, graph, key)
    folder.mkdir(parents=True, exist_ok=True)
    prune_stale_caches(cache_root, graph, folder)
    record = folder / "key.json"
    if not record.is_file():
        logger.info("%s: no TensorRT engines for key %s yet, they are built on first run",
                    graph, key[:16])
        record.write_text(json.dumps({"graph": graph, "key": key, "file_sha256": hashes,
                                      "fp16": bool(fp16), "profile": profile,
                                      "runtime": runtime}, indent=1) + "\n", encoding="utf-8")
    options: dict[str, object] = {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(folder),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache_root),
        "trt_fp16_enable": bool(fp16),
        "trt_max_workspace_size": WORKSPACE_BYTES,
    }
    options.update(profile)
    return options
