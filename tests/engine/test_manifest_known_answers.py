"""Known answers for the bundle manifest schema (engine/manifest.py): literal dicts in, literal
dataclasses and dicts out, so a key read under the wrong name, a default changed or a field left
out of `to_dict` fails here."""

from __future__ import annotations

import math

from core.audio_config import AudioConfig, MelNormalization
from engine.manifest import (
    CaptionIndexSpec,
    CommentarySpec,
    DecoderSpec,
    FeelingsSpec,
    GraphSpec,
    ImagePreprocess,
    Manifest,
    TensorSpec,
    TokenizerSpec,
    VocoderSpec,
)

FULL = {
    "format_version": "2",
    "audio": {"sample_rate": 16000, "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64,
              "fmin": 20.0, "fmax": 7600.0, "frames": 100, "log_floor": 1e-4},
    "mel_norm": {"log_min": "-9.5", "log_max": 3},
    "encoders": {"image": {"name": "tiny"}},
    "graphs": {
        "decoder": {
            "file": "decoder.onnx",
            "inputs": [{"name": "image_emb", "shape": [1, 32], "dtype": "float16"},
                       {"name": "text_emb", "shape": [1, "d"]}],
            "outputs": [{"name": "mel", "shape": [1, 80, "frames"]}],
            "weights": "fp16",
            "fp16_compute": 1,
            "tensorrt": 0,
            "parity": {"max_abs": 0.25},
            "external_data": ["decoder.onnx.data"],
        },
        "vocoder": {
            "file": "vocoder.onnx",
            "inputs": [{"name": "mel", "shape": [1, 80, "T"]}],
            "outputs": [{"name": "audio", "shape": [1, 1, "S"]}],
        },
    },
    "preprocessing": {"image": {"size": "224", "mean": [0, "0.5", 1], "std": [1, 2, "0.25"],
                                "resize_mode": "squash", "interpolation": "area"}},
    "tokenizers": {
        "text_encoder": {"kind": "clip_bpe", "file": "tokenizer.json", "context_length": "77",
                         "sot_id": 49406, "eot_id": 49407, "pad_id": "3"},
        "caption_encoder": {"kind": "hf", "file": "caption_tokenizer.json", "context_length": 128},
    },
    "vocoder": {"name": "hifigan-v1", "graph": "vocoder", "context_frames": "12",
                "config": {"upsample": [8, 8, 2, 2]}},
    "feelings": {"labels": ["awe", "fear"], "graph": "feelings", "kind": "linear_head",
                 "prompts": ["a painting of awe", "a painting of fear"]},
    "caption_index": {"captions": "captions.json", "embeddings": "caption_embeddings.npy",
                      "encoder_graph": "caption_encoder", "tokenizer": "caption_encoder", "count": "5"},
    "commentary": {"graph": "image_encoder", "vocabulary": "commentary.json", "class_output": "classes",
                   "colour_output": "colour", "colour_features": ["warmth", "brightness"],
                   "colour_version": "v2"},
    "decoder": {"kind": "tokens", "frames": "448", "step_graph": "decoder_step", "stages": "2",
                "codebook_size": 256, "layers": 2, "hidden": 256, "temperatures": [1, "1.1"]},
    "files": {"z.onnx": "00ff", "a.json": "aa11"},
    "provenance": {"git": "abc123"},
    "licences": {"decoder": "MIT"},
}


def test_tensor_spec_reads_name_shape_and_dtype_with_float32_default():
    assert TensorSpec.from_dict({"name": "x", "shape": [1, "n"], "dtype": "int64"}) == \
        TensorSpec("x", (1, "n"), "int64")
    spec = TensorSpec.from_dict({"name": "y", "shape": [2, 3]})
    assert (spec.name, spec.shape, spec.dtype) == ("y", (2, 3), "float32")


def test_full_manifest_reads_every_field_with_literal_values():
    m = Manifest.from_dict(FULL)
    assert m.format_version == 2
    assert m.audio == AudioConfig(16000, 512, 400, 160, 64, 20.0, 7600.0, 100, 1e-4)
    assert m.mel_norm == MelNormalization(log_min=-9.5, log_max=3.0)
    assert isinstance(m.mel_norm.log_min, float) and isinstance(m.mel_norm.log_max, float)
    assert m.encoders == {"image": {"name": "tiny"}}
    assert list(m.graphs) == ["decoder", "vocoder"]
    dec = m.graphs["decoder"]
    assert dec.file == "decoder.onnx"
    assert dec.inputs == (TensorSpec("image_emb", (1, 32), "float16"),
                          TensorSpec("text_emb", (1, "d"), "float32"))
    assert dec.outputs == (TensorSpec("mel", (1, 80, "frames"), "float32"),)
    assert dec.weights == "fp16"
    assert dec.fp16_compute is True
    assert dec.tensorrt is False
    assert dec.parity == {"max_abs": 0.25}
    assert dec.external_data == ("decoder.onnx.data",)
    assert dec.files == ("decoder.onnx", "decoder.onnx.data")
    voc = m.graphs["vocoder"]
    assert (voc.weights, voc.fp16_compute, voc.tensorrt, voc.parity, voc.external_data) == \
        ("fp32", False, True, {}, ())
    assert voc.outputs == (TensorSpec("audio", (1, 1, "S"), "float32"),)
    assert m.preprocessing == ImagePreprocess(224, (0.0, 0.5, 1.0), (1.0, 2.0, 0.25), "squash", "area")
    assert all(isinstance(v, float) for v in m.preprocessing.mean + m.preprocessing.std)
    assert m.tokenizers["text_encoder"] == TokenizerSpec("clip_bpe", "tokenizer.json", 77, 49406, 49407, 3)
    assert m.tokenizers["caption_encoder"] == TokenizerSpec("hf", "caption_tokenizer.json", 128,
                                                            None, None, 0)
    assert m.vocoder == VocoderSpec("hifigan-v1", "vocoder", 12, {"upsample": [8, 8, 2, 2]})
    assert m.feelings == FeelingsSpec(("awe", "fear"), "feelings", "linear_head",
                                      ("a painting of awe", "a painting of fear"))
    assert m.caption_index == CaptionIndexSpec("captions.json", "caption_embeddings.npy", "caption_encoder",
                                               "caption_encoder", 5)
    assert m.commentary == CommentarySpec("image_encoder", "commentary.json", "classes", "colour",
                                          ("warmth", "brightness"), "v2")
    assert m.files == {"z.onnx": "00ff", "a.json": "aa11"}
    assert m.provenance == {"git": "abc123"}
    assert m.licences == {"decoder": "MIT"}
    assert m.referenced_files() == {"decoder.onnx", "decoder.onnx.data", "vocoder.onnx", "tokenizer.json",
                                    "caption_tokenizer.json", "captions.json", "caption_embeddings.npy",
                                    "commentary.json"}


MINIMAL = {
    "format_version": 1,
    "audio": {"sample_rate": 8000},
    "mel_norm": {"log_min": -11.5, "log_max": 2.5},
    "encoders": {},
    "graphs": {"decoder": {"file": "d.onnx", "inputs": [], "outputs": []}},
    "preprocessing": {"image": {"size": 32, "mean": [0.1, 0.2, 0.3], "std": [0.4, 0.5, 0.6]}},
    "tokenizers": {"text_encoder": {"kind": "hf", "file": "t.json", "context_length": 16}},
    "vocoder": {"name": "griffin_lim"},
}


def test_minimal_manifest_takes_the_documented_defaults():
    m = Manifest.from_dict(MINIMAL)
    assert m.audio == AudioConfig(sample_rate=8000, n_fft=1024, win_length=1024, hop_length=256, n_mels=80,
                                  fmin=0.0, fmax=8000.0, frames=896, log_floor=1e-5)
    assert m.preprocessing.resize_mode == "shortest"
    assert m.preprocessing.interpolation == "bicubic"
    assert m.tokenizers["text_encoder"].pad_id == 0
    assert m.vocoder == VocoderSpec("griffin_lim", None, 0, {})
    assert m.feelings is None and m.caption_index is None and m.commentary is None
    assert m.decoder.kind == "bilstm" and not m.decoder.samples and m.decoder.step_graph is None
    assert m.files == {} and m.provenance == {} and m.licences == {}
    assert m.referenced_files() == {"d.onnx", "t.json"}
    assert m.to_dict() == {
        "format_version": 1,
        "audio": {"sample_rate": 8000, "n_fft": 1024, "win_length": 1024, "hop_length": 256, "n_mels": 80,
                  "fmin": 0.0, "fmax": 8000.0, "frames": 896, "log_floor": 1e-5},
        "mel_norm": {"log_min": -11.5, "log_max": 2.5},
        "encoders": {},
        "graphs": {"decoder": {"file": "d.onnx", "inputs": (), "outputs": (), "weights": "fp32",
                               "fp16_compute": False, "tensorrt": True, "parity": {}, "external_data": ()}},
        "preprocessing": {"image": {"size": 32, "mean": (0.1, 0.2, 0.3), "std": (0.4, 0.5, 0.6),
                                    "resize_mode": "shortest", "interpolation": "bicubic"}},
        "tokenizers": {"text_encoder": {"kind": "hf", "file": "t.json", "context_length": 16, "sot_id": None,
                                        "eot_id": None, "pad_id": 0}},
        "vocoder": {"name": "griffin_lim", "graph": None, "context_frames": 0, "config": {}},
        "feelings": None,
        "caption_index": None,
        "commentary": None,
        "decoder": {"kind": "bilstm", "frames": 896, "step_graph": None, "stages": 0,
                    "codebook_size": 0, "layers": 0, "hidden": 0, "temperatures": [],
                    "guidance": 1.0, "tempo_bpm": [], "beat_features": 0,
                    "repeat": [], "repeat_beats": 0.0, "palette": 0.0,
                    "primer_frames": 0, "primer_embeddings": None, "primer_codes": None,
                    "code_bias": None},
        "files": {},
        "provenance": {},
        "licences": {},
    }


def test_minimal_specs_take_their_defaults():
    assert FeelingsSpec.from_dict({"labels": ["a"], "graph": "g", "kind": "zero_shot"}).prompts == ()
    c = CommentarySpec.from_dict({"graph": "g", "vocabulary": "v.json"})
    assert (c.class_output, c.colour_output, c.colour_features, c.colour_version) == (None, None, (), "")
    g = GraphSpec.from_dict({"file": "g.onnx", "inputs": [{"name": "a", "shape": [1]}], "outputs": []})
    assert g.inputs == (TensorSpec("a", (1,), "float32"),) and g.files == ("g.onnx",)


def test_full_manifest_writes_literal_dict_with_files_sorted():
    d = Manifest.from_dict(FULL).to_dict()
    assert list(d) == ["format_version", "audio", "mel_norm", "encoders", "graphs", "preprocessing",
                       "tokenizers", "vocoder", "feelings", "caption_index", "commentary", "decoder",
                       "files", "provenance", "licences"]
    assert d["format_version"] == 2
    assert d["decoder"] == {"kind": "tokens", "frames": 448, "step_graph": "decoder_step", "stages": 2,
                            "codebook_size": 256, "layers": 2, "hidden": 256,
                            "temperatures": [1.0, 1.1], "guidance": 1.0, "tempo_bpm": [],
                            "beat_features": 0, "repeat": [], "repeat_beats": 0.0,
                            "palette": 0.0, "primer_frames": 0, "primer_embeddings": None,
                            "primer_codes": None, "code_bias": None}
    assert Manifest.from_dict(FULL).decoder.samples
    assert not Manifest.from_dict(FULL).decoder.guided
    guided = DecoderSpec.from_dict({**d["decoder"], "guidance": "2.5", "tempo_bpm": [90, "120"],
                                    "beat_features": 4})
    assert (guided.guided, guided.state_batch, guided.tempo_bpm) == (True, 2, (90.0, 120.0))
    assert DecoderSpec.from_dict(guided.to_dict()) == guided
    assert d["mel_norm"] == {"log_min": -9.5, "log_max": 3.0}
    assert d["encoders"] == {"image": {"name": "tiny"}}
    assert d["audio"]["hop_length"] == 160 and d["audio"]["log_floor"] == 1e-4
    assert d["graphs"]["decoder"] == {
        "file": "decoder.onnx",
        "inputs": ({"name": "image_emb", "shape": (1, 32), "dtype": "float16"},
                   {"name": "text_emb", "shape": (1, "d"), "dtype": "float32"}),
        "outputs": ({"name": "mel", "shape": (1, 80, "frames"), "dtype": "float32"},),
        "weights": "fp16", "fp16_compute": True, "tensorrt": False, "parity": {"max_abs": 0.25},
        "external_data": ("decoder.onnx.data",),
    }
    assert d["preprocessing"] == {"image": {"size": 224, "mean": (0.0, 0.5, 1.0), "std": (1.0, 2.0, 0.25),
                                            "resize_mode": "squash", "interpolation": "area"}}
    assert d["tokenizers"]["text_encoder"] == {"kind": "clip_bpe", "file": "tokenizer.json",
                                               "context_length": 77, "sot_id": 49406, "eot_id": 49407,
                                               "pad_id": 3}
    assert d["vocoder"] == {"name": "hifigan-v1", "graph": "vocoder", "context_frames": 12,
                            "config": {"upsample": [8, 8, 2, 2]}}
    assert d["feelings"] == {"labels": ("awe", "fear"), "graph": "feelings", "kind": "linear_head",
                             "prompts": ("a painting of awe", "a painting of fear")}
    assert d["caption_index"] == {"captions": "captions.json", "embeddings": "caption_embeddings.npy",
                                  "encoder_graph": "caption_encoder", "tokenizer": "caption_encoder",
                                  "count": 5}
    assert d["commentary"] == {"graph": "image_encoder", "vocabulary": "commentary.json",
                               "class_output": "classes", "colour_output": "colour",
                               "colour_features": ("warmth", "brightness"), "colour_version": "v2"}
    assert list(d["files"].items()) == [("a.json", "aa11"), ("z.onnx", "00ff")]
    assert d["provenance"] == {"git": "abc123"} and d["licences"] == {"decoder": "MIT"}
    assert math.isclose(Manifest.from_dict(d).mel_norm.log_min, -9.5)


def test_a_code_bias_is_a_referenced_file_and_survives_a_round_trip():
    values = {**FULL, "decoder": {**FULL["decoder"], "code_bias": "code_bias.npy"}}
    manifest = Manifest.from_dict(values)
    assert manifest.decoder.biased and manifest.decoder.code_bias == "code_bias.npy"
    assert "code_bias.npy" in manifest.referenced_files()
    assert Manifest.from_dict(manifest.to_dict()).decoder == manifest.decoder
    assert not Manifest.from_dict(FULL).decoder.biased
    assert "code_bias.npy" not in Manifest.from_dict(FULL).referenced_files()
