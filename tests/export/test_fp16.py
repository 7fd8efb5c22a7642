"""FP16 weight storage keeps outputs close, halves large tensors, and leaves risky ones alone."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from export.fp16 import with_fp16_weights


def _model() -> onnx.ModelProto:
    """y = (x @ W + b) * s + H · 0: W large (converted), b small and H out of fp16 range (kept)."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.1, (64, 64)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.normal(0, 0.1, (64,)).astype(np.float32), "b"),
        numpy_helper.from_array(np.full((4, 64), 1e6, np.float32), "H"),
        numpy_helper.from_array(np.zeros((4, 64), np.float32), "Z"),
    ]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "b"], ["xwb"]),
             helper.make_node("Mul", ["H", "Z"], ["hz"]),
             helper.make_node("Add", ["xwb", "hz"], ["y"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 64])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_fp16_weights_halve_large_tensors_and_keep_outputs_close():
    model = _model()
    half = with_fp16_weights(model)
    onnx.checker.check_model(half)
    types = {t.name: t.data_type for t in half.graph.initializer}
    assert types["W__fp16"] == TensorProto.FLOAT16
    assert types["b"] == TensorProto.FLOAT  # small: kept in fp32
    assert types["H"] == TensorProto.FLOAT  # beyond the fp16 range: kept in fp32
    assert any(n.op_type == "Cast" and n.output[0] == "W" for n in half.graph.node)
    x = np.random.default_rng(1).normal(size=(4, 64)).astype(np.float32)
    assert np.abs(_run(half, x) - _run(model, x)).max() < 5e-3
    assert half.ByteSize() < model.ByteSize()
