"""One graph from module to bundle file: export, parity against PyTorch, fp16 where it holds."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engine.manifest import GraphSpec, TensorSpec
from export.bundle import BundleWriter
from export.errors import ExportError
from export.fp16 import with_fp16_weights
from export.onnx_export import GraphSource, export_onnx, io_specs
from export.parity import ParityReport, half_outputs, max_abs_error, onnx_outputs, torch_outputs


@dataclass
class ExportedGraph:
    spec: GraphSpec
    report: ParityReport
    reference: list[np.ndarray]
    """PyTorch outputs on the example inputs (feed the next graph's example inputs)."""


def _static_outputs(source: GraphSource, outputs: tuple[TensorSpec, ...],
                    reference: list[np.ndarray]) -> tuple[TensorSpec, ...]:
    """Output shapes with the dimensions the exporter could not infer (names such as
    ``Softmaxclass_probabilities_dim_0``) taken from the PyTorch run, unless the source declared
    them dynamic: the manifest then states every fixed width."""
    fixed = []
    for spec, value in zip(outputs, reference, strict=False):
        declared = source.dynamic_axes.get(spec.name, {})
        shape = tuple(dim if isinstance(dim, int) or axis in declared or axis >= value.ndim
                      else int(value.shape[axis]) for axis, dim in enumerate(spec.shape))
        fixed.append(TensorSpec(spec.name, shape, spec.dtype))
    return (*fixed, *outputs[len(fixed):])


def export_graph(source: GraphSource, writer: BundleWriter, fp16: bool,
                 tolerance: float) -> ExportedGraph:
    """Exports `source` into the bundle and measures its parity.

    The fp32 graph must match PyTorch within `tolerance` (else ExportError). With `fp16`, the
    graph keeps fp16 weights only if that copy also matches within `tolerance`, and TensorRT may
    use fp16 kernels only if a float16 PyTorch run does.
    """
    start = time.perf_counter()
    try:
        reference = torch_outputs(source.module, source.inputs)
    except (RuntimeError, ValueError, TypeError) as error:
        raise ExportError(f"graph {source.name} fails in PyTorch on its example inputs "
                          f"({str(error).splitlines()[0]}); check that the checkpoint's model "
                          "config fits its encoders.") from error
    model = export_onnx(source)
    error = max_abs_error(onnx_outputs(model, source.input_names, source.inputs), reference)
    report = ParityReport(source.name, tolerance, error)
    if not report.passed:
        raise ExportError(f"graph {source.name} differs from PyTorch by {error:.2e} (more than "
                          f"--parity-tol {tolerance:g}); the ONNX translation is wrong, so do not "
                          "ship it: check the module's export or raise the tolerance knowingly.")
    chosen = model
    if fp16 and source.fp16:
        half_model = with_fp16_weights(model)
        report.fp16_weights_error = max_abs_error(
            onnx_outputs(half_model, source.input_names, source.inputs), reference)
        if report.fp16_weights_error <= tolerance:
            chosen, report.weights = half_model, "fp16"
        half = half_outputs(source.module, source.inputs)
        if half is not None:
            report.fp16_compute_error = max_abs_error(half, reference)
            report.fp16_compute = report.fp16_compute_error <= tolerance
    file, extra = writer.write_graph(source.name, chosen)
    report.size_bytes = sum(writer.path(name).stat().st_size for name in (file, *extra))
    report.export_seconds = time.perf_counter() - start
    inputs, outputs = io_specs(chosen)
    outputs = _static_outputs(source, outputs, reference)
    spec = GraphSpec(file=file, inputs=inputs, outputs=outputs, weights=report.weights,
                     fp16_compute=report.fp16_compute, tensorrt=source.tensorrt,
                     parity=report.manifest_parity(), external_data=extra)
    return ExportedGraph(spec, report, reference)
