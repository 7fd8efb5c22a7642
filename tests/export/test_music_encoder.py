"""export.music_encoder adds the retrieval graphs to a real bundle; engine.retrieval runs them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from engine import BundleError, Engine, EngineError
from engine.bundle import Bundle, sha256_file
from engine.retrieval import MusicRetrieval, read_retrieval_spec
from export.errors import ExportError
from export.music_encoder import add_music_encoder
from tests.retrieval_fixture import SHIPPED_BUNDLE, retrieval_bundle, train_small_run
from training.retrieval.train import load_model


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return retrieval_bundle(tmp_path_factory.mktemp("retrieval"))


def test_bundle_keeps_every_file_and_hashes_the_new_graphs(bundle):
    before = json.loads((SHIPPED_BUNDLE / "manifest.json").read_text())
    after = json.loads((bundle / "manifest.json").read_text())
    assert {k: v for k, v in after.items() if k not in ("files", "retrieval")} == \
        {k: v for k, v in before.items() if k not in ("files", "retrieval")}
    assert set(after["files"]) == set(before["files"]) | {"music_encoder.onnx",
                                                           "art_projection.onnx"}
    for name, digest in after["files"].items():
        assert sha256_file(bundle / name) == digest
    spec = read_retrieval_spec(bundle)
    assert spec.music_graph.inputs[0].shape == (1, 80, 896)
    assert spec.art_graph.inputs[0].shape == ("batch", 1339)
    assert spec.image_encoder == before["encoders"]["image"]


def test_engine_graphs_match_pytorch(bundle):
    model, _ = load_model(bundle.parent / "run")
    retrieval = MusicRetrieval.load(bundle)
    mel = np.random.default_rng(1).uniform(-1, 1, (80, 896)).astype(np.float32)
    images = np.random.default_rng(2).normal(size=(3, 1339)).astype(np.float32)
    with torch.no_grad():
        expected_music = model.music(torch.from_numpy(mel[None]))[0].numpy()
        expected_art = model.art(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(retrieval.embed_mel(mel), expected_music, atol=1e-5)
    np.testing.assert_allclose(retrieval.embed_art(images), expected_art, atol=1e-5)
    with pytest.raises(EngineError, match="shape"):
        retrieval.embed_mel(mel[:, :100])


def test_the_engine_still_loads_and_ignores_the_retrieval_graphs(bundle):
    engine = Engine.load(bundle, providers=["cpu"], warmup=False)
    assert "music_encoder" not in engine.providers
    assert MusicRetrieval.from_engine(engine).spec.embed_dim == 8


def test_bundle_without_it_says_how_to_add_it(tmp_path):
    if read_retrieval_spec(SHIPPED_BUNDLE) is not None:
        pytest.skip("the shipped bundle already has a music encoder")
    with pytest.raises(EngineError, match="export.music_encoder"):
        MusicRetrieval.load(SHIPPED_BUNDLE, verify=False)


def test_adding_again_replaces_the_graphs_and_a_tampered_graph_is_refused(bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    run = train_small_run(tmp_path / "run2", 80, 896, 1339, epochs=1)
    add_music_encoder(run, copy)  # in place, over the previous retrieval graphs
    files = json.loads((copy / "manifest.json").read_text())["files"]
    assert files["music_encoder.onnx"] == sha256_file(copy / "music_encoder.onnx")
    assert files["music_encoder.onnx"] != sha256_file(bundle / "music_encoder.onnx")
    assert not list(tmp_path.glob(".bundle.*"))  # no staging left behind
    with open(copy / "art_projection.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match="art_projection.onnx"):
        MusicRetrieval.load(copy)


def test_a_run_for_another_image_encoder_is_refused(tmp_path):
    run = train_small_run(tmp_path / "run", 80, 896, 1339, epochs=1)
    sidecar = run / "retrieval.json"
    report = json.loads(sidecar.read_text())
    report["provenance"]["image_encoder"] = "open_clip:ViT-B-32:laion2b_s34b_b79k"
    sidecar.write_text(json.dumps(report))
    with pytest.raises(ExportError, match="image encoder"):
        add_music_encoder(run, SHIPPED_BUNDLE, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert Bundle.open(SHIPPED_BUNDLE, verify=False).manifest.files
