"""Parity of each exported graph against PyTorch: fp32 graph, fp16 weights, fp16 compute.

All graph outputs are bounded by construction (unit embeddings, tanh Mel and audio,
probabilities), so one absolute tolerance on the max abs error serves every graph.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from export.onnx_export import EXTERNAL_DATA_BYTES, initializer_bytes, save_onnx


@dataclass
class ParityReport:
    """Max abs errors of one graph against PyTorch eager, and what the export chose."""

    graph: str
    tolerance: float
    fp32_error: float
    fp16_weights_error: float | None = None
    fp16_compute_error: float | None = None
    weights: str = "fp32"
    fp16_compute: bool = False
    export_seconds: float = 0.0
    size_bytes: int = 0

    @property
    def passed(self) -> bool:
        return self.fp32_error <= self.tolerance

    @property
    def bundle_error(self) -> float:
        """Error of the graph as stored in the bundle."""
        if self.weights == "fp16" and self.fp16_weights_error is not None:
            return self.fp16_weights_error
        return self.fp32_error

    def manifest_parity(self) -> dict[str, float]:
        values = {"tolerance": self.tolerance, "fp32_max_abs_error": self.fp32_error}
        if self.fp16_weights_error is not None:
            values["fp16_weights_max_abs_error"] = self.fp16_weights_error
        if self.fp16_compute_error is not None:
            values["fp16_compute_max_abs_error"] = self.fp16_compute_error
        return values


def _feeds(names: tuple[str, ...], inputs: tuple[torch.Tensor, ...]) -> dict[str, np.ndarray]:
    return {name: tensor.detach().cpu().numpy() for name, tensor in zip(names, inputs, strict=True)}


def onnx_outputs(model: onnx.ModelProto, names: tuple[str, ...],
                 inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    """Outputs of `model` on onnxruntime's CPU provider (as the engine runs it on CPU)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if initializer_bytes(model) <= EXTERNAL_DATA_BYTES:
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        return session.run(None, _feeds(names, inputs))
    with tempfile.TemporaryDirectory(prefix="a2m-parity-") as tmp:
        path = Path(tmp) / "graph.onnx"
        save_onnx(model, path)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return session.run(None, _feeds(names, inputs))


def _as_list(outputs) -> list[np.ndarray]:
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    return [o.detach().float().cpu().numpy() for o in outputs]


@torch.no_grad()
def torch_outputs(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    return _as_list(module.eval()(*inputs))


@torch.no_grad()
def half_outputs(module: torch.nn.Module,
                 inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray] | None:
    """Outputs of a float16 copy of `module` (a stand-in for TensorRT fp16), None if unsupported."""
    try:
        half = copy.deepcopy(module).half().eval()
        cast = tuple(t.half() if t.is_floating_point() else t for t in inputs)
        return _as_list(half(*cast))
    except (RuntimeError, TypeError, NotImplementedError):
        return None


def max_abs_error(actual: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """Largest absolute difference over all outputs; inf on a shape mismatch or on any NaN or
    infinite value on either side, so a graph that outputs NaN can never pass a tolerance.

    (Python's ``max(worst, nan)`` keeps ``worst``, so NaN is checked explicitly, not folded in.)
    """
    worst = 0.0
    for a, b in zip(actual, expected, strict=True):
        if a.shape != b.shape:
            return float("inf")
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if not (np.isfinite(a64).all() and np.isfinite(b64).all()):
            return float("inf")
        if a64.size:
            worst = max(worst, float(np.abs(a64 - b64).max()))
    return worst
