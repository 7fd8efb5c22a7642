"""A bundle of hand-written ONNX graphs whose outputs have closed forms, for known-answer tests.

No torch, no export code: the graphs are built node by node with `onnx.helper`, so a test can
state what every stage must return from numpy arithmetic alone.

* image_encoder: pixels [1, 3, 4, 4] → embedding [1, 3] = mean over the pixels of each channel
  (as float16), classes [1, 3] = embedding / 2 + 1/2, colour [1, 19] = ``COLOUR`` (constant)
* feelings: embedding e [1, 3] → scores [e, e / 2 − 0.3] of the six ``LABELS``
* text_encoder: tokens [1, "length"] int64 → the token ids as float16 [1, 24] (WordLevel vocabulary
  ``VOCAB``, sot 2, eot 3, pad 0)
* decoder: image [1, 3], text [1, 24] → normalised Mel [1, 4, 6] = reshape(concat · W)
* vocoder: log-Mel [1, 4, T] → audio [1, 1, 4·T]: each frame's sum over Mels plus T (the
  window's length, so that streamed blocks show their context), repeated hop times
* caption index: two captions whose embeddings pick token position 1 or 2.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N_MELS, FRAMES, HOP, CONTEXT, L = 4, 6, 4, 2, 24
SIZE = 4
MEAN = (0.5, 0.25, 0.0)
STD = (0.5, 0.25, 2.0)
LABELS = ("awe", "fear", "joy", "anger", "sadness", "disgust")
COLOUR_FEATURES = ("luminance_mean", "contrast", "saturation_mean", "colourfulness", "warmth",
                   *(f"hue_{30 * i}" for i in range(12)), "edge_density", "unused")
COLOUR = np.zeros((1, 19), np.float32)  # raw value (0 + 1) / 2 = 0.5 for every feature
VOCABULARY = {
    "name": "test-words", "version": 3, "class_names": ["red", "green", "blue"],
    "subjects": {"words": [{"phrase": "a red sky", "classes": [0]},
                           {"phrase": "a green field", "classes": [1]},
                           {"phrase": "the blue sea", "classes": [2]}],
                 "min_probability": 0.5, "min_class_probability": 0.5, "max_words": 2},
    "looks": {"light": [[0.3, "deep shadow"], [0.7, "soft light"], [2, "bright light"]],
              "strong_contrast": 0.4, "gentle_contrast": 0.1, "warm": 0.4, "cool": 0.1,
              "vivid_colourfulness": 0.9, "muted_saturation": 0.1, "muted_colourfulness": 0.1,
              "rich_saturation": 0.4, "grey_saturation": 0.1, "hue_min_share": 0.3, "max_hues": 2,
              "dark_luminance": 0.2, "hues": ["red", "orange", "yellow", "lime", "green", "teal", "cyan",
                                              "azure", "blue", "violet", "magenta", "rose"],
              "dark_hues": ["x"] * 12, "busy_edges": 0.4, "calm_edges": 0.1},
}
SOT, EOT = 2, 3
VOCAB = {"[UNK]": 1, "art": 4, "commentary": 5, ":": 6, ".": 7, "painting": 8, "emotion": 9,
         "audio": 11, "keywords": 12, ",": 13, "sea": 20, "storm": 30, "awe": 40, "fear": 41,
         "joy": 42, "music": 50, "rain": 51, "waves": 52, "calm": 60}
CAPTIONS = [{"caption": "a calm piece", "labels": ["Music"], "keywords": ["calm"]},
            {"caption": "rain on the sea", "labels": ["Rain", "Music"], "keywords": ["waves"]}]
CAPTION_EMBEDDINGS = np.eye(2, L, 1, dtype=np.float32)  # rows pick token positions 1 and 2
LOG_MIN, LOG_MAX = -6.0, 2.0


def decoder_weights() -> np.ndarray:
    weights = np.random.default_rng(14).standard_normal((3 + L, N_MELS * FRAMES)) * 0.01
    return weights.astype(np.float32)


def _model(nodes, inputs, outputs, initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _value(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


F = TensorProto.FLOAT
H = TensorProto.FLOAT16


def _graphs() -> dict[str, onnx.ModelProto]:
    image = _model(
        [helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[2, 3], keepdims=0),
         helper.make_node("Cast", ["mean"], ["embedding"], to=H),
         helper.make_node("Mul", ["mean", "half"], ["halved"]),
         helper.make_node("Add", ["halved", "half"], ["classes"]),
         helper.make_node("Identity", ["colour_constant"], ["colour"])],
        [_value("pixels", F, [1, 3, SIZE, SIZE])],
        [_value("embedding", H, [1, 3]), _value("classes", F, [1, 3]), _value("colour", F, [1, 19])],
        [numpy_helper.from_array(np.array(0.5, np.float32), "half"),
         numpy_helper.from_array(COLOUR, "colour_constant")])
    feelings = _model(
        [helper.make_node("Mul", ["image_emb", "half"], ["halved"]),
         helper.make_node("Sub", ["halved", "shift"], ["shifted"]),
         helper.make_node("Concat", ["image_emb", "shifted"], ["probabilities"], axis=1)],
        [_value("image_emb", F, ["batch", 3])], [_value("probabilities", F, ["batch", 6])],
        [numpy_helper.from_array(np.array(0.5, np.float32), "half"),
         numpy_helper.from_array(np.array(0.3, np.float32), "shift")])
    text = _model([helper.make_node("Cast", ["tokens"], ["text_emb"], to=H)],
                  [_value("tokens", TensorProto.INT64, [1, "length"])],
                  [_value("text_emb", H, [1, "length"])])
    decoder = _model(
        [helper.make_node("Concat", ["image_emb", "text_emb"], ["both"], axis=1),
         helper.make_node("MatMul", ["both", "W"], ["flat"]),
         helper.make_node("Reshape", ["flat", "shape"], ["mel"])],
        [_value("image_emb", F, [1, 3]), _value("text_emb", F, [1, L])],
        [_value("mel", F, [1, N_MELS, FRAMES])],
        [numpy_helper.from_array(decoder_weights(), "W"),
         numpy_helper.from_array(np.array([1, N_MELS, FRAMES], np.int64), "shape")])
    vocoder = _model(
        [helper.make_node("ReduceSum", ["log_mel", "axes"], ["summed"], keepdims=1),
         helper.make_node("Shape", ["log_mel"], ["shape"]),
         helper.make_node("Gather", ["shape", "two"], ["count"]),
         helper.make_node("Cast", ["count"], ["count_f"], to=F),
         helper.make_node("Add", ["summed", "count_f"], ["shifted"]),
         helper.make_node("Unsqueeze", ["shifted", "axis3"], ["column"]),
         helper.make_node("Expand", ["column", "repeat"], ["tiled"]),
         helper.make_node("Reshape", ["tiled", "flat"], ["audio32"]),
         helper.make_node("Cast", ["audio32"], ["audio"], to=H)],
        [_value("log_mel", F, [1, N_MELS, "frames"])], [_value("audio", H, [1, 1, "samples"])],
        [numpy_helper.from_array(np.array([1], np.int64), "axes"),
         numpy_helper.from_array(np.array(2, np.int64), "two"),
         numpy_helper.from_array(np.array([3], np.int64), "axis3"),
         numpy_helper.from_array(np.array([1, 1, 1, HOP], np.int64), "repeat"),
         numpy_helper.from_array(np.array([1, 1, -1], np.int64), "flat")])
    return {"image_encoder": image, "feelings": feelings, "text_encoder": text, "decoder": decoder,
            "vocoder": vocoder}


def _spec(name: str, model: onnx.ModelProto, **extra) -> dict:
    def tensors(values):
        out = []
        for v in values:
            dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            dtype = {TensorProto.INT64: "int64", H: "float16"}.get(v.type.tensor_type.elem_type, "float32")
            out.append({"name": v.name, "shape": dims, "dtype": dtype})
        return out

    return {"file": f"{name}.onnx", "inputs": tensors(model.graph.input),
            "outputs": tensors(model.graph.output), **extra}


def _tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel(VOCAB, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))


def write_bundle(directory: Path, *, vocoder: str = "graph", captions: bool = True,
                 feelings: bool = True, commentary: dict | None = None) -> Path:
    """`commentary`: the manifest's commentary spec without graph/vocabulary (None: none)."""
    """Writes the hand-made bundle into `directory` (created) and returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    graphs = _graphs()
    if vocoder != "graph":
        del graphs["vocoder"]
    if not feelings:
        del graphs["feelings"]
    for name, model in graphs.items():
        onnx.save(model, directory / f"{name}.onnx")
    _tokenizer(directory / "tokenizer.json")
    manifest = {
        "format_version": 1,
        "audio": {"sample_rate": 800, "n_fft": 16, "win_length": 16, "hop_length": HOP,
                  "n_mels": N_MELS, "fmin": 0.0, "fmax": 400.0, "frames": FRAMES, "log_floor": 1e-5},
        "mel_norm": {"log_min": LOG_MIN, "log_max": LOG_MAX},
        "encoders": {},
        "graphs": {name: _spec(name, model, fp16_compute=(name == "vocoder"),
                               tensorrt=(name != "decoder"))
                   for name, model in graphs.items()},
        "preprocessing": {"image": {"size": SIZE, "mean": list(MEAN), "std": list(STD),
                                    "resize_mode": "squash", "interpolation": "nearest"}},
        "tokenizers": {"text_encoder": {"kind": "clip_bpe", "file": "tokenizer.json",
                                        "context_length": L, "sot_id": SOT, "eot_id": EOT, "pad_id": 0}},
        "vocoder": ({"name": "hifigan-test", "graph": "vocoder", "context_frames": CONTEXT}
                    if vocoder == "graph" else
                    {"name": "griffin_lim", "graph": None, "context_frames": CONTEXT}),
    }
    if feelings:
        manifest["feelings"] = {"labels": list(LABELS), "graph": "feelings", "kind": "linear_head"}
    if commentary is not None:
        (directory / "commentary.json").write_text(json.dumps(VOCABULARY), encoding="utf-8")
        manifest["commentary"] = {"graph": "image_encoder", "vocabulary": "commentary.json", **commentary}
    if captions:
        (directory / "captions.json").write_text(json.dumps({"captions": CAPTIONS}), encoding="utf-8")
        np.save(directory / "caption_embeddings.npy", CAPTION_EMBEDDINGS)
        manifest["caption_index"] = {"captions": "captions.json", "embeddings": "caption_embeddings.npy",
                                     "encoder_graph": "text_encoder", "tokenizer": "text_encoder",
                                     "count": 2}
    manifest["files"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                         for p in sorted(directory.iterdir()) if p.is_file()}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return directory
