"""One onnxruntime session per bundle graph, with provider fallback and a lock per session."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.errors import EngineError
from engine.manifest import GraphSpec
from engine.providers import CPU, TENSORRT
from engine.tensorrt import ShapeRange, tensorrt_options

logger = logging.getLogger(__name__)

_DTYPES = {"float32": np.float32, "float16": np.float16, "int64": np.int64, "int32": np.int32}


@dataclass(frozen=True)
class SessionSettings:
    """How sessions are made: ordered providers, TensorRT cache folder, threads, shape ranges."""

    providers: tuple[str, ...]
    cache_root: Path
    intra_op_threads: int = 0
    shape_ranges: Mapping[str, ShapeRange] = field(default_factory=dict)
    spinning_graphs: frozenset[str] = frozenset()
    """Graphs whose thread pool may spin between kernels: the BiLSTM decoder runs thousands of
    tiny sequential steps (0.38 s spinning vs 0.59 s sleeping, 2 cores); every other pool
    sleeps when idle so that it leaves the cores to the UI, audio and the other graphs."""
    single_thread_graphs: frozenset[str] = frozenset()
    """Graphs run on one thread without spinning: the token decoder's one-frame step is a chain
    of small matrix-vector products where a second thread only adds hand-over cost (896 steps:
    0.51 s on one thread vs 0.84 s on two, spinning; 2-core CPU under load)."""


def _provider_entry(name: str, graph: str, spec: GraphSpec, file_hashes: Sequence[str],
                    settings: SessionSettings):
    """A provider name, or for TensorRT (name, options) with the engine cache keyed on the
    SHA-256 of the graph's files."""
    if name != TENSORRT:
        return name
    inputs = {t.name: t.shape for t in spec.inputs}
    return name, tensorrt_options(settings.cache_root, graph, file_hashes, spec.fp16_compute,
                                  inputs, settings.shape_ranges)


class GraphSession:
    """Runs one graph; ``run`` holds a lock so a UI thread and a worker can share the session.

    `file_hashes` are the manifest's SHA-256 of ``spec.files`` (the ONNX file, then any
    external weight file); they key the TensorRT engine cache.
    """

    def __init__(self, graph: str, path: Path, spec: GraphSpec, file_hashes: str | Sequence[str],
                 settings: SessionSettings) -> None:
        self.graph = graph
        self.spec = spec
        self._lock = threading.Lock()
        wanted = [p for p in settings.providers if p != TENSORRT or spec.tensorrt]
        if TENSORRT in settings.providers and not spec.tensorrt:
            logger.info("%s: kept off TensorRT (marked in the manifest), using %s", graph,
                        ", ".join(wanted))
        hashes = (file_hashes,) if isinstance(file_hashes, str) else tuple(file_hashes)
        self._session = self._create(path, hashes, settings, wanted)
        self.providers: tuple[str, ...] = tuple(self._session.get_providers())
        if self.providers[0] != wanted[0]:
            logger.warning("%s: %s did not start, running on %s", graph, wanted[0],
                           self.providers[0])
        self._input_types = {t.name: _DTYPES.get(t.dtype, np.float32) for t in spec.inputs}

    def _create(self, path: Path, file_hashes: Sequence[str], settings: SessionSettings,
                wanted: Sequence[str]) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        single = self.graph in settings.single_thread_graphs
        options.intra_op_num_threads = 1 if single else settings.intra_op_threads
        spinning = "1" if self.graph in settings.spinning_graphs and not single else "0"
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        options.log_severity_level = 3
        remaining = list(wanted)
        while True:
            entries = [_provider_entry(p, self.graph, self.spec, file_hashes, settings)
                       for p in remaining]
            try:
                return ort.InferenceSession(str(path), sess_options=options, providers=entries)
            except Exception as error:  # onnxruntime raises its own Fail/RuntimeError types
                if remaining == [CPU] or len(remaining) == 1:
                    raise EngineError(f"graph {path.name} cannot be loaded by onnxruntime "
                                      f"({error}); re-export the bundle.") from error
                logger.warning("%s: %s failed to start (%s); falling back to %s", self.graph,
                               remaining[0], str(error).splitlines()[0], remaining[1])
                remaining = remaining[1:]

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.spec.inputs)

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs in manifest order for `feeds` (cast to the graph's input dtypes)."""
        typed = {name: np.ascontiguousarray(value, dtype=self._input_types.get(name, None))
                 for name, value in feeds.items()}
        with self._lock:
            return self._session.run([t.name for t in self.spec.outputs], typed)
