"""Known answers for engine/tensorrt.py: the cache key is a SHA-256 over literal text computed
here with hashlib, option dicts and key records are literals, the runtime versions are faked."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import engine.tensorrt as trt
from engine.tensorrt import (
    ShapeRange,
    engine_cache_key,
    graph_cache_dir,
    prune_stale_caches,
    runtime_versions,
    tensorrt_installed,
    tensorrt_options,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_tensorrt_installed_asks_for_the_tensorrt_package(monkeypatch):
    asked = []

    def present(name, *args):
        asked.append(name)
        return object() if name == "tensorrt" else None

    monkeypatch.setattr(importlib.util, "find_spec", present)
    assert tensorrt_installed() is True
    assert asked == ["tensorrt"]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    assert tensorrt_installed() is False


def test_version_of_an_installed_and_a_missing_package():
    assert trt._version("numpy") == np.__version__
    assert trt._version("no-such-package-a2m-xyz") is None


def test_runtime_versions_lists_the_installed_runtimes_in_order(monkeypatch):
    installed = {"onnxruntime-gpu": "1.20.1", "tensorrt-cu12": "10.7.0", "numpy": "2.0"}
    monkeypatch.setattr(trt, "_version", installed.get)
    assert runtime_versions() == "onnxruntime-gpu=1.20.1,tensorrt-cu12=10.7.0"
    everything = {"onnxruntime-gpu": "1", "onnxruntime": "2", "tensorrt": "3", "tensorrt-cu12": "4",
                  "tensorrt-libs": "5"}
    monkeypatch.setattr(trt, "_version", everything.get)
    assert runtime_versions() == "onnxruntime-gpu=1,onnxruntime=2,tensorrt=3,tensorrt-cu12=4,tensorrt-libs=5"
    monkeypatch.setattr(trt, "_version", {}.get)
    assert runtime_versions() == ""


def test_engine_cache_key_is_sha256_of_the_literal_parts(monkeypatch):
    assert engine_cache_key(["aa", "bb"], fp16=True, profile="p", runtime="ort=1") == \
        _sha("aa\nbb\nfp16=1\nprofile=p\nruntime=ort=1")
    assert engine_cache_key("aa", fp16=0, runtime="r") == _sha("aa\nfp16=0\nprofile=\nruntime=r")
    assert engine_cache_key(("x",), fp16=2, profile="", runtime="") == _sha("x\nfp16=1\nprofile=\nruntime=")
    monkeypatch.setattr(trt, "runtime_versions", lambda: "ort=9")
    assert engine_cache_key("aa", False) == _sha("aa\nfp16=0\nprofile=\nruntime=ort=9")
    with pytest.raises(ValueError):
        engine_cache_key([], True, runtime="r")


def test_graph_cache_dir_uses_the_first_16_hex_digits(tmp_path):
    assert graph_cache_dir(tmp_path, "decoder", "0123456789abcdef" + "f" * 48) == \
        tmp_path / "decoder-0123456789abcdef"
    assert graph_cache_dir(str(tmp_path), "v", "ab") == tmp_path / "v-ab"


def test_prune_removes_only_other_folders_of_the_same_graph(tmp_path):
    keep = tmp_path / "vocoder-1111"
    for name in ("vocoder-1111", "vocoder-2222", "vocoder-3333", "decoder-2222"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "engine.bin").write_bytes(b"x")
    (tmp_path / "vocoder-file").write_bytes(b"not a folder")
    prune_stale_caches(tmp_path, "vocoder", keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoder-2222", "vocoder-1111", "vocoder-file"]
    assert (keep / "engine.bin").read_bytes() == b"x"
    prune_stale_caches(str(tmp_path), "decoder", keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocoder-1111", "vocoder-file"]
    prune_stale_caches(tmp_path / "missing", "vocoder", keep)  # no cache yet: nothing to do
    assert not (tmp_path / "missing").exists()


def test_profile_strings_substitute_symbolic_dimensions():
    ranges = {"frames": ShapeRange(1, 80, 896), "L": ShapeRange(2, 16, 77)}
    inputs = {"mel": (1, 80, "frames"), "ids": (1, "L")}
    assert trt._profile(inputs, ranges, "minimum") == "mel:1x80x1,ids:1x2"
    assert trt._profile(inputs, ranges, "optimum") == "mel:1x80x80,ids:1x16"
    assert trt._profile(inputs, ranges, "maximum") == "mel:1x80x896,ids:1x77"


def test_options_with_a_profile_are_literal_and_the_key_record_says_what_was_built(tmp_path, monkeypatch):
    monkeypatch.setattr(trt, "runtime_versions", lambda: "onnxruntime=1.2")
    options = tensorrt_options(tmp_path, "vocoder", ["ab", "cd"], fp16=1,
                               inputs={"mel": (1, 80, "frames"), "speaker": (1, 4)},
                               ranges={"frames": ShapeRange(1, 80, 896)})
    profile = "mel:1x80x1;mel:1x80x80;mel:1x80x896"
    key = _sha(f"ab\ncd\nfp16=1\nprofile={profile}\nruntime=onnxruntime=1.2")
    folder = tmp_path / f"vocoder-{key[:16]}"
    assert options == {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(folder),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(tmp_path),
        "trt_fp16_enable": True,
        "trt_max_workspace_size": 4 * 1024 ** 3,
        "trt_profile_min_shapes": "mel:1x80x1",
        "trt_profile_opt_shapes": "mel:1x80x80",
        "trt_profile_max_shapes": "mel:1x80x896",
    }
    text = (folder / "key.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n "graph"')
    assert json.loads(text) == {
        "graph": "vocoder", "key": key, "file_sha256": ["ab", "cd"], "fp16": True,
        "profile": {"trt_profile_min_shapes": "mel:1x80x1", "trt_profile_opt_shapes": "mel:1x80x80",
                    "trt_profile_max_shapes": "mel:1x80x896"},
        "runtime": "onnxruntime=1.2",
    }


def test_options_without_symbolic_dimensions_have_no_profile(tmp_path, monkeypatch):
    monkeypatch.setattr(trt, "runtime_versions", lambda: "r")
    for inputs, ranges in (({"pixels": (1, 3, 224, 224)}, {"frames": ShapeRange(1, 2, 3)}),
                           ({"mel": (1, "frames")}, None), (None, {"frames": ShapeRange(1, 2, 3)})):
        options = tensorrt_options(tmp_path / "c", "image_encoder", "ee", fp16=0, inputs=inputs,
                                   ranges=ranges)
        key = _sha("ee\nfp16=0\nprofile=\nruntime=r")
        folder = tmp_path / "c" / f"image_encoder-{key[:16]}"
        assert options == {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(folder),
                           "trt_timing_cache_enable": True, "trt_timing_cache_path": str(tmp_path / "c"),
                           "trt_fp16_enable": False, "trt_max_workspace_size": 4294967296}
        record = json.loads((folder / "key.json").read_text())
        assert record["file_sha256"] == ["ee"] and record["fp16"] is False and record["profile"] == {}


def test_an_existing_key_record_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(trt, "runtime_versions", lambda: "r")
    folder = Path(tensorrt_options(tmp_path, "g", "aa", fp16=True)["trt_engine_cache_path"])
    (folder / "key.json").write_text("kept", encoding="utf-8")
    assert Path(tensorrt_options(tmp_path, "g", "aa", fp16=True)["trt_engine_cache_path"]) == folder
    assert (folder / "key.json").read_text(encoding="utf-8") == "kept"


def test_missing_metadata_is_none(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert trt._version("onnxruntime") is None


def test_prune_survives_a_folder_removed_meanwhile(tmp_path, monkeypatch):
    """A second kiosk process may remove the same stale folder first: that is not an error."""
    (tmp_path / "g-old").mkdir()
    real = trt.shutil.rmtree

    def raced(path, *args, **kwargs):
        real(path)  # the other process wins
        return real(path, *args, **kwargs)

    monkeypatch.setattr(trt.shutil, "rmtree", raced)
    prune_stale_caches(tmp_path, "g", tmp_path / "g-new")
    assert not (tmp_path / "g-old").exists()


def test_options_key_and_record_use_one_reading_of_the_runtime(tmp_path, monkeypatch):
    readings = iter(["ort=1", "ort=2", "ort=3"])
    monkeypatch.setattr(trt, "runtime_versions", lambda: next(readings))
    (tmp_path / "g-stale").mkdir()
    folder = Path(tensorrt_options(tmp_path, "g", "aa", fp16=False)["trt_engine_cache_path"])
    key = _sha("aa\nfp16=0\nprofile=\nruntime=ort=1")
    assert folder == tmp_path / f"g-{key[:16]}"
    assert json.loads((folder / "key.json").read_text())["runtime"] == "ort=1"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"g-{key[:16]}"]
