"""Known answers for the ONNX plumbing (export/onnx_export.py, parity.py, bundle.py, fp16.py) on
hand-built graphs and small modules, checked with onnx/onnxruntime/hashlib directly."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import export.onnx_export as onnx_export
import export.parity as parity
from engine.manifest import TensorSpec
from export.bundle import BundleWriter
from export.errors import ExportError
from export.fp16 import with_fp16_weights
from export.onnx_export import GraphSource, export_onnx, initializer_bytes, io_specs, save_onnx
from export.parity import max_abs_error, onnx_outputs


def _affine(n: int = 300, batch="n") -> onnx.ModelProto:
    """y = x · w + b with x [batch, n], w [n] (n elements), b [1] (tiny), plus z = x (an int copy)."""
    w = numpy_helper.from_array(np.linspace(-1, 1, n, dtype=np.float32), "w")
    b = numpy_helper.from_array(np.array([0.5], dtype=np.float32), "b")
    nodes = [helper.make_node("Mul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"]),
             helper.make_node("Cast", ["x"], ["z"], to=TensorProto.INT64)]
    graph = helper.make_graph(
        nodes, "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, n]),
         helper.make_tensor_value_info("z", TensorProto.INT64, [batch, n])], [w, b])
    graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [n]))  # old-style
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_io_specs_skip_initialisers_and_keep_symbols() -> None:
    inputs, outputs = io_specs(_affine(4, "batch"))
    assert inputs == (TensorSpec("x", ("batch", 4), "float32"),)
    assert outputs == (TensorSpec("y", ("batch", 4), "float32"), TensorSpec("z", ("batch", 4), "int64"))
    half = helper.make_tensor_value_info("h", TensorProto.FLOAT16, [2])
    i32 = helper.make_tensor_value_info("i", TensorProto.INT32, [3])
    odd = helper.make_tensor_value_info("d", TensorProto.DOUBLE, [1])
    assert [onnx_export._tensor_spec(v).dtype for v in (half, i32, odd)] == ["float16", "int32", "float32"]


def test_initializer_bytes_is_the_protobuf_size() -> None:
    model = _affine(300)
    assert initializer_bytes(model) == sum(t.ByteSize() for t in model.graph.initializer)
    assert initializer_bytes(model) > 1200  # 300 float32 values


def test_save_inline_up_to_the_limit_and_external_above(tmp_path, monkeypatch) -> None:
    model = _affine(300)
    size = initializer_bytes(model)
    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", size)
    assert save_onnx(model, tmp_path / "a.onnx") == ()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx"]
    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", size - 1)
    assert save_onnx(model, str(tmp_path / "b.onnx")) == ("b.onnx.data",)
    assert (tmp_path / "b.onnx.data").stat().st_size == 1200  # w only: b is under 1024 bytes
    loaded = onnx.load(str(tmp_path / "b.onnx"), load_external_data=False)
    locations = {t.name: t.data_location for t in loaded.graph.initializer}
    assert locations == {"w": TensorProto.EXTERNAL, "b": TensorProto.DEFAULT}
    session = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    x = np.ones((1, 300), dtype=np.float32)
    np.testing.assert_allclose(session.run(["y"], {"x": x})[0][0], np.linspace(-1, 1, 300) + 0.5, atol=1e-6,
                               rtol=1e-6)


@pytest.mark.parametrize("external", [False, True])
def test_onnx_outputs_run_on_cpu_both_ways(monkeypatch, external) -> None:
    if external:
        monkeypatch.setattr(parity, "EXTERNAL_DATA_BYTES", 0)
    x = torch.full((2, 300), 2.0)
    y, z = onnx_outputs(_affine(300), ("x",), (x,))
    expected = 2.0 * np.linspace(-1, 1, 300, dtype=np.float32) + 0.5
    np.testing.assert_allclose(y, np.stack([expected, expected]), rtol=1e-6)
    assert z.dtype == np.int64 and (z == 2).all()


def test_max_abs_error_by_hand() -> None:
    a = [np.array([1.0, 2.0], np.float32), np.array([[0.0]], np.float32)]
    b = [np.array([1.0, 2.25], np.float32), np.array([[-0.125]], np.float32)]
    assert max_abs_error(a, b) == 0.25
    assert max_abs_error([np.array([3.0])], [np.array([3.0])]) == 0.0
    assert max_abs_error([np.array([-2.0, 5.0])], [np.array([2.0, 5.0])]) == 4.0
    with pytest.raises(ValueError):
        max_abs_error(a, b[:1])
    assert max_abs_error([np.array([np.inf])], [np.array([1.0])]) == float("inf")


class _Two(nn.Module):
    def forward(self, a, b):
        return a * 2 + b, a - b


def test_export_onnx_names_and_dynamic_axes() -> None:
    source = GraphSource("pair", _Two(), (torch.ones(1, 3), torch.zeros(1, 3)), ("a", "b"),
                         ("sum", "diff"), {"a": {1: "width"}, "b": {1: "width"},
                                           "sum": {1: "width"}, "diff": {1: "width"}})
    model = export_onnx(source)
    assert [v.name for v in model.graph.input] == ["a", "b"]
    assert [v.name for v in model.graph.output] == ["sum", "diff"]
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == ["", "width"]
    assert model.opset_import[0].version == 17
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a, b = np.arange(5, dtype=np.float32)[None], np.ones((1, 5), np.float32)
    out_sum, out_diff = session.run(None, {"a": a, "b": b})
    np.testing.assert_allclose(out_sum, 2 * a + 1)
    np.testing.assert_allclose(out_diff, a - 1)


def test_export_onnx_without_dynamic_axes_is_static() -> None:
    model = export_onnx(GraphSource("one", nn.Identity(), (torch.ones(1, 3),), ("x",), ("y",)))
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3]


def test_fp16_weights_large_finite_float_tensors_only() -> None:
    big = np.full(300, 70000.0, dtype=np.float32)
    w = numpy_helper.from_array(np.linspace(-1, 1, 300, dtype=np.float32), "w")
    model = _affine(300)
    model.graph.initializer.append(numpy_helper.from_array(big, "big"))
    model.graph.initializer.append(numpy_helper.from_array(np.arange(300, dtype=np.int64), "ints"))
    converted = with_fp16_weights(model)
    assert [t.name for t in model.graph.initializer] == ["w", "b", "big", "ints"]  # input untouched
    names = {t.name: t.data_type for t in converted.graph.initializer}
    assert names == {"w__fp16": TensorProto.FLOAT16, "b": TensorProto.FLOAT,
                     "big": TensorProto.FLOAT, "ints": TensorProto.INT64}
    cast = converted.graph.node[0]
    assert (cast.op_type, list(cast.input), list(cast.output), cast.name) == \
        ("Cast", ["w__fp16"], ["w"], "w__to_fp32")
    assert helper.get_attribute_value(cast.attribute[0]) == TensorProto.FLOAT
    assert [n.op_type for n in converted.graph.node] == ["Cast", "Mul", "Add", "Cast"]
    stored = numpy_helper.to_array([t for t in converted.graph.initializer if t.name == "w__fp16"][0])
    np.testing.assert_array_equal(stored, numpy_helper.to_array(w).astype(np.float16))
    small = with_fp16_weights(_affine(300), min_elements=301)
    assert [t.name for t in small.graph.initializer] == ["w", "b"]
    exact = with_fp16_weights(_affine(300), min_elements=300)
    assert [t.name for t in exact.graph.initializer] == ["w__fp16", "b"]


def test_fp16_keeps_a_tensor_at_the_fp16_limit() -> None:
    model = _affine(300)
    model.graph.initializer.append(numpy_helper.from_array(np.full(300, -65504.0, np.float32), "edge"))
    names = [t.name for t in with_fp16_weights(model).graph.initializer]
    assert "edge__fp16" in names


@dataclass
class _Manifest:
    """Stands in for engine.manifest.Manifest: files, referenced_files(), to_dict()."""

    names: tuple[str, ...]
    files: dict = field(default_factory=dict)

    def referenced_files(self) -> set[str]:
        return set(self.names)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "files": self.files, "title": "Mélodie"}


def test_writer_stages_next_to_the_bundle(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    writer = BundleWriter("out")
    assert writer.out_dir == tmp_path / "out"
    assert writer.staging == tmp_path / f".out.partial-{os.getpid()}"
    assert writer.staging.is_dir()
    assert writer.path("a/b.json") == writer.staging / "a" / "b.json"
    name = writer.write_json("v.json", {"word": "élan", "n": [1]})
    assert name == "v.json"
    assert (writer.staging / "v.json").read_bytes() == \
        '{\n "word": "élan",\n "n": [\n  1\n ]\n}\n'.encode()
    assert writer.write_npy("e.npy", np.arange(3, dtype=np.float16)) == "e.npy"
    np.testing.assert_array_equal(np.load(writer.staging / "e.npy"), [0, 1, 2])
    file, extra = writer.write_graph("g", _affine(4))
    assert (file, extra) == ("g.onnx", ())
    assert onnx.load(str(writer.staging / "g.onnx")).graph.name == "affine"


def test_commit_hashes_writes_and_swaps(tmp_path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    (out / "stale.bin").write_bytes(b"old")
    writer = BundleWriter(out)
    writer.write_json("a.json", {"k": 1})
    writer.path("sub").mkdir()
    writer.path("sub/b.bin").write_bytes(b"\x00\x01")
    final = writer.commit(_Manifest(("a.json", "sub/b.bin"), files={"x": "y"}))
    expected = {"a.json": hashlib.sha256(b'{\n "k": 1\n}\n').hexdigest(),
                "sub/b.bin": hashlib.sha256(b"\x00\x01").hexdigest()}
    assert final.files == expected
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert text == json.dumps({"names": ["a.json", "sub/b.bin"], "files": expected,
                               "title": "Mélodie"}, indent=2) + "\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "manifest.json", "sub"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no staging, no old copy


def test_commit_refuses_a_manifest_naming_an_unstaged_file(tmp_path) -> None:
    writer = BundleWriter(tmp_path / "b")
    writer.write_json("a.json", {})
    with pytest.raises(ExportError):
        writer.commit(_Manifest(("a.json", "missing.onnx")))
    assert not (tmp_path / "b").exists()
    writer.abort()
    assert not writer.staging.exists()


def test_a_folder_that_is_not_a_bundle_is_refused(tmp_path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ExportError):
        BundleWriter(tmp_path / "b")
    (tmp_path / "empty").mkdir()
    assert BundleWriter(tmp_path / "empty").staging.is_dir()


def test_a_stale_staging_folder_is_cleared(tmp_path) -> None:
    stale = tmp_path / f".b.partial-{os.getpid()}"
    stale.mkdir()
    (stale / "junk").write_bytes(b"x")
    writer = BundleWriter(tmp_path / "b")
    assert list(writer.staging.iterdir()) == []


def test_context_manager_aborts_only_on_error(tmp_path) -> None:
    with pytest.raises(RuntimeError), BundleWriter(tmp_path / "b") as writer:
        raise RuntimeError("boom")
    assert not writer.staging.exists()
    with BundleWriter(tmp_path / "c") as kept:
        pass
    assert kept.staging.is_dir()


@pytest.mark.parametrize("external", [False, True])
def test_parity_runs_on_the_cpu_provider_quietly(monkeypatch, external) -> None:
    made, real = [], ort.InferenceSession

    def spy(model, options=None, providers=None):
        made.append((model, options, providers))
        return real(model, options, providers=providers)

    monkeypatch.setattr(parity.ort, "InferenceSession", spy)
    if external:
        monkeypatch.setattr(parity, "EXTERNAL_DATA_BYTES", 0)
    model = _affine(300)
    onnx_outputs(model, ("x",), (torch.ones(1, 300),))
    (given, options, providers), = made
    assert providers == ["CPUExecutionProvider"]
    assert options.log_severity_level == 3
    if external:
        assert given.endswith("graph.onnx")
    else:
        assert given == model.SerializeToString()


def test_a_bundle_in_a_new_folder_tree_and_a_second_abort(tmp_path) -> None:
    writer = BundleWriter(tmp_path / "a" / "b" / "bundle")
    assert writer.staging == tmp_path / "a" / "b" / f".bundle.partial-{os.getpid()}"
    assert writer.staging.is_dir()
    writer.abort()
    writer.abort()  # nothing left to remove: still fine
    assert not writer.staging.exists()


def test_commit_into_a_new_folder(tmp_path) -> None:
    writer = BundleWriter(tmp_path / "new")
    writer.write_json("a.json", {})
    assert writer.commit(_Manifest(("a.json",))).files == {"a.json": hashlib.sha256(b"{}\n").hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]


def test_npy_files_never_hold_pickles(tmp_path) -> None:
    writer = BundleWriter(tmp_path / "b")
    with pytest.raises(ValueError):
        writer.write_npy("o.npy", np.array([{"a": 1}], dtype=object))


def test_export_onnx_leaves_nothing_in_the_working_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    export_onnx(GraphSource("one", nn.Identity(), (torch.ones(1, 3),), ("x",), ("y",)))
    assert list(tmp_path.iterdir()) == []
