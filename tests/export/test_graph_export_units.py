"""Known answers for one graph's export and parity record (export/graph_export.py), on small
modules; expected errors are computed with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.manifest import TensorSpec
from export.bundle import BundleWriter
from export.errors import ExportError
from export.graph_export import _static_outputs, export_graph
from export.onnx_export import GraphSource


def _linear(n_in: int, n_out: int, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out)


def test_fp32_graph_spec_and_report(tmp_path) -> None:
    module = _linear(4, 3)
    x = torch.tensor([[1.0, -2.0, 0.5, 3.0]])
    writer = BundleWriter(tmp_path / "b")
    exported = export_graph(GraphSource("lin", module, (x,), ("x",), ("y",), tensorrt=False),
                            writer, False, 1e-3)
    expected = x.numpy() @ module.weight.detach().numpy().T + module.bias.detach().numpy()
    np.testing.assert_allclose(exported.reference[0], expected, rtol=1e-6)
    report, spec = exported.report, exported.spec
    assert report.graph == "lin"
    assert report.tolerance == 1e-3
    assert report.fp32_error < 1e-6
    assert (report.weights, report.fp16_compute) == ("fp32", False)
    assert report.fp16_weights_error is None and report.fp16_compute_error is None
    assert report.size_bytes == (writer.path("lin.onnx")).stat().st_size > 0
    assert 0 < report.export_seconds < 120
    assert spec.file == "lin.onnx"
    assert spec.inputs == (TensorSpec("x", (1, 4), "float32"),)
    assert spec.outputs == (TensorSpec("y", (1, 3), "float32"),)
    assert (spec.weights, spec.fp16_compute, spec.tensorrt, spec.external_data) == ("fp32", False, False, ())
    assert spec.parity == {"tolerance": 1e-3, "fp32_max_abs_error": report.fp32_error}


def _fp16_error(module: nn.Linear, x: torch.Tensor) -> float:
    w = module.weight.detach().numpy().astype(np.float64)
    w16 = module.weight.detach().numpy().astype(np.float16).astype(np.float64)
    return float(np.abs(x.numpy().astype(np.float64) @ (w16 - w).T).max())


def test_fp16_weights_kept_when_parity_holds(tmp_path) -> None:
    module = _linear(32, 32, seed=1)
    x = torch.linspace(-3, 3, 32)[None]
    exported = export_graph(GraphSource("big", module, (x,), ("x",), ("y",)),
                            BundleWriter(tmp_path / "b"), True, 5e-2)
    report = exported.report
    assert report.fp16_weights_error == pytest.approx(_fp16_error(module, x), rel=0.05, abs=1e-5)
    assert report.fp16_weights_error > 1e-5
    assert report.weights == "fp16" and exported.spec.weights == "fp16"
    assert report.fp16_compute_error is not None and report.fp16_compute_error > 0
    assert report.fp16_compute is True and exported.spec.fp16_compute is True
    assert exported.spec.tensorrt is True
    assert set(exported.spec.parity) == {"tolerance", "fp32_max_abs_error",
                                         "fp16_weights_max_abs_error", "fp16_compute_max_abs_error"}


def test_fp16_weights_refused_when_parity_fails(tmp_path) -> None:
    module = _linear(32, 32, seed=1)
    x = torch.linspace(-3, 3, 32)[None]
    tolerance = _fp16_error(module, x) / 4  # above fp32 (~1e-7), below the fp16 weights' error
    exported = export_graph(GraphSource("big", module, (x,), ("x",), ("y",)),
                            BundleWriter(tmp_path / "b"), True, tolerance)
    assert exported.report.weights == "fp32"
    assert exported.report.fp16_weights_error > tolerance
    assert exported.report.fp16_compute is False


def test_a_source_without_fp16_never_gets_it(tmp_path) -> None:
    module = _linear(32, 32, seed=1)
    exported = export_graph(GraphSource("big", module, (torch.ones(1, 32),), ("x",), ("y",), fp16=False),
                            BundleWriter(tmp_path / "b"), True, 5e-2)
    assert exported.report.fp16_weights_error is None
    assert exported.report.weights == "fp32"


def test_a_module_failing_in_pytorch_is_an_export_error(tmp_path) -> None:
    with pytest.raises(ExportError):
        export_graph(GraphSource("bad", nn.Linear(4, 3), (torch.ones(1, 5),), ("x",), ("y",)),
                     BundleWriter(tmp_path / "b"), False, 1e-3)


def test_static_outputs_fill_inferred_widths_only() -> None:
    source = GraphSource("g", nn.Identity(), (), ("x",), ("p", "q", "r"), {"q": {0: "batch"}})
    outputs = (TensorSpec("p", ("Softmax_dim_0", 9, "extra"), "float32"),
               TensorSpec("q", ("batch", "Mul_dim_1"), "float16"),
               TensorSpec("r", ("n",), "int64"))
    reference = [np.zeros((1, 9)), np.zeros((2, 5))]
    assert _static_outputs(source, outputs, reference) == (
        TensorSpec("p", (1, 9, "extra"), "float32"),
        TensorSpec("q", ("batch", 5), "float16"),
        TensorSpec("r", ("n",), "int64"))
