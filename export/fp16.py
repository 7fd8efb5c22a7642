"""FP16 weight storage: float32 initialisers stored as float16, cast back to float32 in-graph.

Halves the bundle (and download) size while every operator still computes in float32, so the
graph runs unchanged on onnxruntime's CPU provider; at session start the casts are constant-
folded. Whether a graph keeps fp16 weights is decided by parity against PyTorch (export.parity).
TensorRT's fp16 kernels are a separate switch (GraphSpec.fp16_compute).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP16_MAX = 65504.0
MIN_ELEMENTS = 256
"""Small tensors (biases, scales) stay float32: no size to save, and they are often sensitive."""


def with_fp16_weights(model: onnx.ModelProto, min_elements: int = MIN_ELEMENTS) -> onnx.ModelProto:
    """A copy of `model` whose large float32 initialisers are stored as float16."""
    converted = onnx.ModelProto()
    converted.CopyFrom(model)
    graph = converted.graph
    initializers, casts = [], []
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor) if tensor.data_type == TensorProto.FLOAT else None
        if array is None or array.size < min_elements or np.abs(array).max() > FP16_MAX:
            initializers.append(tensor)
            continue
        half_name = f"{tensor.name}__fp16"
        initializers.append(numpy_helper.from_array(array.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [tensor.name], to=TensorProto.FLOAT,
                                      name=f"{tensor.name}__to_fp32"))
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)
    nodes = list(graph.node)
    graph.ClearField("node")
    graph.node.extend(casts + nodes)
    return converted
