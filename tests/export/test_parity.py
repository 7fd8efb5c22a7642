"""The parity gate: a graph ships only if its outputs match PyTorch within the tolerance.

Expected values are literals: the gate must say inf (never 0.0) for NaN and inf outputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from export.bundle import BundleWriter
from export.errors import ExportError
from export.graph_export import export_graph
from export.onnx_export import GraphSource
from export.parity import ParityReport, max_abs_error


def _pair(value: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    actual = np.zeros((2, 3), dtype=np.float32)
    actual[1, 2] = value
    return [actual], [np.zeros((2, 3), dtype=np.float32)]


def test_error_is_the_largest_absolute_difference_over_all_outputs():
    first = [np.array([0.0, 0.25], dtype=np.float32), np.array([[1.0, -2.0]], dtype=np.float32)]
    second = [np.array([0.0, 0.0], dtype=np.float32), np.array([[1.5, -2.0]], dtype=np.float32)]
    assert max_abs_error(first, second) == 0.5
    assert max_abs_error(second, first) == 0.5


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_nan_or_infinite_output_is_an_infinite_error(value: float):
    actual, expected = _pair(value)
    assert max_abs_error(actual, expected) == math.inf
    assert max_abs_error(expected, actual) == math.inf


def test_nan_in_a_later_output_is_not_hidden_by_an_earlier_finite_error():
    good = np.ones(4, dtype=np.float32)
    bad = np.array([1.0, math.nan, 1.0, 1.0], dtype=np.float32)
    assert max_abs_error([good + 0.1, bad], [good, good]) == math.inf


def test_a_shape_mismatch_is_an_infinite_error():
    assert max_abs_error([np.zeros((1, 3))], [np.zeros((3, 1))]) == math.inf


def test_empty_outputs_have_no_error():
    assert max_abs_error([np.zeros((0, 3))], [np.zeros((0, 3))]) == 0.0


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_report_with_a_nan_or_inf_error_fails_the_gate(value: float):
    actual, expected = _pair(value)
    report = ParityReport("decoder", tolerance=1e-3, fp32_error=max_abs_error(actual, expected))
    assert not report.passed


def test_the_gate_sits_exactly_at_the_tolerance():
    assert ParityReport("g", tolerance=1e-3, fp32_error=1e-3).passed
    assert not ParityReport("g", tolerance=1e-3, fp32_error=1.01e-3).passed


class _Poisoned(nn.Module):
    """A linear layer whose output is multiplied by a non-finite constant."""

    def __init__(self, poison: float) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.poison = poison

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.poison


@pytest.mark.parametrize("poison", [math.nan, math.inf])
def test_export_refuses_a_graph_that_outputs_nan_or_inf(tmp_path, poison: float):
    torch.manual_seed(0)
    source = GraphSource("poisoned", _Poisoned(poison), (torch.ones(1, 4),), ("x",), ("y",))
    with BundleWriter(tmp_path / "bundle") as writer, pytest.raises(ExportError, match="poisoned"):
        export_graph(source, writer, fp16=False, tolerance=1e-3)


def test_export_accepts_the_same_graph_with_a_finite_output(tmp_path):
    torch.manual_seed(0)
    source = GraphSource("healthy", _Poisoned(2.0), (torch.ones(1, 4),), ("x",), ("y",))
    with BundleWriter(tmp_path / "bundle") as writer:
        exported = export_graph(source, writer, fp16=True, tolerance=1e-3)
    assert exported.report.passed
    assert exported.report.fp32_error < 1e-5
    assert exported.spec.file == "healthy.onnx"
