"""Export of the tiny run: every component present, hashed, described, and equal to PyTorch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from engine.bundle import sha256_file
from engine.manifest import DECODER, FEELINGS, IMAGE_ENCODER, TEXT_ENCODER, VOCODER
from engine.preprocess import preprocess_image
from engine.tokenize import load_tokenizer
from export.encoders import SAMPLE_PROMPT, example_image
from export.graphs import example_log_mel
from export.pipeline import ExportOptions, export_bundle
from tests.export.bundle_fixture import TINY_AUDIO, tiny_generator


@pytest.fixture(scope="module")
def manifest(tiny_bundle) -> dict:
    return json.loads((tiny_bundle / "manifest.json").read_text())


def session(bundle, manifest, graph) -> ort.InferenceSession:
    return ort.InferenceSession(str(bundle / manifest["graphs"][graph]["file"]),
                                providers=["CPUExecutionProvider"])


def test_bundle_holds_every_component_with_its_hash(tiny_bundle, manifest):
    assert manifest["format_version"] == 1
    assert set(manifest["graphs"]) == {IMAGE_ENCODER, TEXT_ENCODER, DECODER, VOCODER, FEELINGS}
    for name, digest in manifest["files"].items():
        assert sha256_file(tiny_bundle / name) == digest
    assert manifest["audio"]["frames"] == TINY_AUDIO.frames
    assert manifest["preprocessing"]["image"]["size"] == 32
    assert manifest["tokenizers"]["text_encoder"]["kind"] == "clip_bpe"
    assert manifest["vocoder"]["name"] == "hifigan-tiny"
    assert manifest["feelings"]["kind"] == "zero_shot"
    assert len(manifest["feelings"]["labels"]) == 9
    assert manifest["caption_index"]["count"] == 4  # the duplicate caption is dropped
    assert manifest["licences"]["captions"] == "CC-BY-4.0, CC0"
    assert manifest["provenance"]["step"] == 7


def test_manifest_describes_models_audio_io_and_provenance(manifest):
    assert manifest["encoders"]["image"] == {"family": "open_clip", "name": "tiny-ViT",
                                             "pretrained": None}
    assert manifest["audio"]["sample_rate"] == 22050 and manifest["audio"]["hop_length"] == 256
    assert set(manifest["mel_norm"]) >= {"log_min", "log_max"}
    decoder = manifest["graphs"][DECODER]
    assert [t["name"] for t in decoder["inputs"]] == ["image_embedding", "text_embedding"]
    assert decoder["inputs"][0]["shape"] == [1, 32] and decoder["outputs"][0]["name"] == "mel"
    assert set(manifest["licences"]) >= {IMAGE_ENCODER, TEXT_ENCODER, DECODER, VOCODER,
                                         "captions"}
    provenance = manifest["provenance"]
    assert provenance["untrained"] is False and provenance["checkpoint"].endswith(".safetensors")
    assert provenance["export"]["onnx"] and provenance["export"]["torch"]


def test_every_graph_records_parity_within_tolerance(manifest):
    for name, graph in manifest["graphs"].items():
        parity = graph["parity"]
        assert parity["fp32_max_abs_error"] <= parity["tolerance"], name
        if graph["weights"] == "fp16":
            assert parity["fp16_weights_max_abs_error"] <= parity["tolerance"], name
        assert graph["fp16_compute"] == (parity["fp16_compute_max_abs_error"]
                                         <= parity["tolerance"]), name


def test_fp16_graphs_store_half_precision_weights(tiny_bundle, manifest):
    model = onnx.load(str(tiny_bundle / manifest["graphs"][IMAGE_ENCODER]["file"]))
    types = {t.data_type for t in model.graph.initializer}
    assert manifest["graphs"][IMAGE_ENCODER]["weights"] == "fp16"
    assert onnx.TensorProto.FLOAT16 in types


def test_decoder_stays_off_tensorrt_and_vocoder_has_dynamic_frames(manifest):
    assert manifest["graphs"][DECODER]["tensorrt"] is False
    assert manifest["graphs"][VOCODER]["inputs"][0]["shape"] == [1, 80, "frames"]
    assert manifest["graphs"][DECODER]["outputs"][0]["shape"] == [1, 80, TINY_AUDIO.frames]


def test_image_graph_with_engine_preprocessing_matches_open_clip(tiny_bundle, manifest):
    from training.encoders import EncoderSpec, create_encoder

    encoder = create_encoder(EncoderSpec("open_clip", "tiny-ViT"))
    picture = example_image(seed=3, height=90, width=140)
    expected = encoder.encode_images([picture])
    pixels = preprocess_image(picture, encoder_preprocess(manifest))
    actual = session(tiny_bundle, manifest, IMAGE_ENCODER).run(None, {"pixels": pixels})[0]
    assert np.abs(actual - expected).max() < 2e-3


def encoder_preprocess(manifest):
    from engine.manifest import ImagePreprocess

    return ImagePreprocess.from_dict(manifest["preprocessing"]["image"])


def test_text_graph_with_engine_tokenizer_matches_open_clip(tiny_bundle, manifest):
    from engine.manifest import TokenizerSpec
    from training.encoders import EncoderSpec, create_encoder

    encoder = create_encoder(EncoderSpec("open_clip", "tiny-ViT"))
    spec = TokenizerSpec.from_dict(manifest["tokenizers"][TEXT_ENCODER])
    feeds = load_tokenizer(tiny_bundle / spec.file, spec).feeds([SAMPLE_PROMPT])
    np.testing.assert_array_equal(feeds["tokens"], encoder.tokenizer([SAMPLE_PROMPT]).numpy())
    actual = session(tiny_bundle, manifest, TEXT_ENCODER).run(None, feeds)[0]
    assert np.abs(actual - encoder.encode_texts([SAMPLE_PROMPT])).max() < 2e-3


def test_decoder_graph_matches_the_checkpoint(tiny_bundle, manifest):
    from export.checkpoint import load_run

    model = load_run(tiny_bundle / manifest["provenance"]["checkpoint"]).model()  # bundle-relative
    rng = np.random.default_rng(0)
    image, text = (rng.normal(size=(1, 32)).astype(np.float32) for _ in range(2))
    with torch.no_grad():
        expected = model(torch.from_numpy(image), torch.from_numpy(text)).numpy()
    actual = session(tiny_bundle, manifest, DECODER).run(
        None, {"image_embedding": image, "text_embedding": text})[0]
    assert np.abs(actual - expected).max() < 1e-3


def test_vocoder_graph_matches_the_generator_at_any_length(tiny_bundle, manifest):
    generator = tiny_generator()
    mel = example_log_mel(TINY_AUDIO, 50, seed=4)
    with torch.no_grad():
        expected = generator(mel).numpy()
    actual = session(tiny_bundle, manifest, VOCODER).run(None, {"log_mel": mel.numpy()})[0]
    assert actual.shape == (1, 1, 50 * 256)
    assert np.abs(actual - expected).max() < 1e-3


def test_export_refuses_to_overwrite_a_directory_that_is_not_a_bundle(tiny_run_dir, tmp_path):
    from export.errors import ExportError

    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not a model bundle"):
        export_bundle(ExportOptions(checkpoint=tiny_run_dir, out=tmp_path,
                                    vocoder="griffin-lim"))
    assert (tmp_path / "notes.txt").read_text() == "keep me"
