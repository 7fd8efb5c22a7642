"""torch module → ONNX graph (legacy TorchScript exporter first; dynamo only where it fails).

ENVIRONMENT.md: the legacy exporter takes 1.9 s for the 4-layer BiLSTM, dynamo 40–57 s, with the
same outputs; open_clip's attention needs the MHA fast path off for the legacy exporter.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import torch
from onnx import TensorProto

from engine.manifest import TensorSpec

logger = logging.getLogger(__name__)

OPSET = 17
EXTERNAL_DATA_BYTES = 1_800_000_000
"""Graphs with more initialiser bytes than this keep their weights in a `.onnx.data` file
(protobuf files are limited to 2 GB, e.g. an fp32 ViT-H-14 image tower)."""

_DTYPE_NAMES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16",
                TensorProto.INT64: "int64", TensorProto.INT32: "int32"}


@dataclass
class GraphSource:
    """A module to export as one bundle graph, with example inputs (batch 1) and names.

    ``dynamic_axes`` marks symbolic dimensions (``{"log_mel": {2: "frames"}}``); ``tensorrt``
    False keeps the graph off TensorRT at run time; ``fp16`` False never stores fp16 weights.
    """

    name: str
    module: torch.nn.Module
    inputs: tuple[torch.Tensor, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    tensorrt: bool = True
    fp16: bool = True


@contextlib.contextmanager
def _export_mode():
    """No grad, MHA fast path off (legacy exporter), exporter chatter silenced."""
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def export_onnx(source: GraphSource) -> onnx.ModelProto:
    """The ONNX model of `source` (weights loaded in memory), legacy exporter first."""
    with tempfile.TemporaryDirectory(prefix="a2m-export-") as tmp, _export_mode():
        path = Path(tmp) / f"{source.name}.onnx"
        kwargs = dict(input_names=list(source.input_names),
                      output_names=list(source.output_names), opset_version=OPSET,
                      dynamic_axes=source.dynamic_axes or None, do_constant_folding=True)
        module = source.module.eval()
        try:
            torch.onnx.export(module, source.inputs, str(path), dynamo=False, **kwargs)
        except Exception as error:  # the legacy exporter raises many types on unsupported ops
            logger.warning("%s: legacy ONNX exporter failed (%s); trying the dynamo exporter",
                           source.name, str(error).splitlines()[0])
            torch.onnx.export(module, source.inputs, str(path), dynamo=True, **kwargs)
        return onnx.load(str(path), load_external_data=True)


def initializer_bytes(model: onnx.ModelProto) -> int:
    return sum(t.ByteSize() for t in model.graph.initializer)


def save_onnx(model: onnx.ModelProto, path: Path) -> tuple[str, ...]:
    """Writes `model` to `path`; returns the names of extra weight files (empty if none)."""
    path = Path(path)
    if initializer_bytes(model) <= EXTERNAL_DATA_BYTES:
        onnx.save_model(model, str(path))
        return ()
    data_name = f"{path.name}.data"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data_name, size_threshold=1024)
    return (data_name,)


def _tensor_spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    shape = tuple(d.dim_param if d.dim_param else int(d.dim_value) for d in tensor.shape.dim)
    return TensorSpec(value.name, shape, _DTYPE_NAMES.get(tensor.elem_type, "float32"))


def io_specs(model: onnx.ModelProto) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """Graph inputs (initialisers excluded) and outputs with shapes as the manifest records."""
    weights = {t.name for t in model.graph.initializer}
    inputs = tuple(_tensor_spec(v) for v in model.graph.input if v.name not in weights)
    return inputs, tuple(_tensor_spec(v) for v in model.graph.output)
