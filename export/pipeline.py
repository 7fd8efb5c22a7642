"""Training run → model bundle: every graph exported, parity-checked, hashed and described."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip / transformers)
from core.prompt import ARTEMIS_EMOTIONS
from engine.captions import CaptionEntry
from engine.manifest import (
    CAPTION_ENCODER,
    FEELINGS,
    IMAGE_ENCODER,
    TEXT_ENCODER,
    TOKENS,
    VOCODER,
    CaptionIndexSpec,
    CommentarySpec,
    DecoderSpec,
    FeelingsSpec,
    Manifest,
    VocoderSpec,
)
from engine.tokenize import load_tokenizer
from export.bundle import BundleWriter
from export.captions import CaptionCorpus, embed_captions, read_captions
from export.checkpoint import load_run
from export.commentary import commentary_part
from export.defaults import DEFAULT_CAPTION_ENCODER
from export.encoders import image_graph, image_preprocess, text_graph
from export.errors import ExportError
from export.feelings import load_head, zero_shot_feelings
from export.graph_export import ExportedGraph, export_graph
from export.graphs import (
    decoder_source,
    feelings_source,
    receptive_field_frames,
    token_decoder_sources,
    vocoder_source,
)
from export.parity import ParityReport
from export.provenance import (
    PROJECT_LICENCE,
    encoder_licence,
    encoder_packages,
    export_environment,
    portable_path,
)
from export.vocoder import GRIFFIN_LIM_CONTEXT_FRAMES, load_vocoder
from training.encoders import EncoderSpec, create_encoder
from training.primers import PRIMER_SPLIT, PrimerError, build_primer_bank

logger = logging.getLogger(__name__)


CONTEXT_MARGIN_FRAMES = 2


class Progress(Protocol):
    def step(self, description: str) -> None:
        """A new export stage begins."""


class _Silent:
    def step(self, description: str) -> None:
        logger.info(description)


@dataclass
class ExportOptions:
    """What `main.py export` exports (see export/cli.py for the flags)."""

    checkpoint: Path
    out: Path
    vocoder: str | Path | nn.Module = "universal"
    fp16: bool = False
    parity_tol: float = 1e-3
    captions: Path | None = None
    caption_encoder: str = DEFAULT_CAPTION_ENCODER
    feelings_head: str | Path | nn.Module | None = None
    commentary_words: Path | None = None
    """Curated word map of the art commentary (default assets/data/painting_words.v1.json)."""
    temperatures: tuple[float, ...] | None = None
    """Token decoder: sampling temperature per stage written to the manifest (default: the
    run's own)."""
    guidance: float | None = None
    """Token decoder trained with condition dropout: classifier-free guidance scale written to
    the manifest (default: the run's own; 1.0 exports the conditional branch alone)."""
    repeat: tuple[float, ...] = ()
    """Token decoder with a tempo head: repetition-prior strength per stage (TokenMelDecoder.step)
    written to the manifest; () exports a step graph without it."""
    repeat_beats: float = 1.0
    """The repetition prior's lag, in beats of the predicted tempo."""
    palette: float = 0.0
    """Token decoder with a palette head (training.palette_head): the palette prior's strength λ
    written to the manifest; 0 exports graphs without it."""
    primer_frames: int = 0
    """Token decoder: frames of the primer bank (training/primers.py) built from the run's data
    set, which the engine teacher-forces before sampling; 0: no bank."""


@dataclass
class ExportResult:
    bundle: Path
    manifest: Manifest
    reports: list[ParityReport] = field(default_factory=list)
    seconds: float = 0.0


def _encoder(spec: EncoderSpec):
    try:
        return create_encoder(spec)
    except (RuntimeError, ValueError, FileNotFoundError) as error:
        raise ExportError(f"encoder {spec.family}:{spec.name} cannot be loaded ({error})") from error


class _Exporter:
    """Holds the state of one export; each method adds one part of the bundle."""

    def __init__(self, options: ExportOptions, writer: BundleWriter, progress: Progress) -> None:
        self.options = options
        self.writer = writer
        self.progress = progress
        self.run = load_run(options.checkpoint)
        self.specs = self.run.encoders
        self.graphs: dict[str, ExportedGraph] = {}
        self.tokenizers = {}
        self.licences: dict[str, str] = {}
        self.commentary: CommentarySpec | None = None

    def portable(self, path: str | Path | None) -> str | None:
        """A provenance path relative to the bundle directory (no absolute build paths)."""
        return portable_path(path, self.writer.out_dir)

    def graph(self, source) -> ExportedGraph:
        self.progress.step(f"exporting {source.name}")
        exported = export_graph(source, self.writer, self.options.fp16, self.options.parity_tol)
        self.graphs[source.name] = exported
        return exported

    def encoders(self) -> None:
        image_encoder = _encoder(self.specs["image"])
        self.preprocess = image_preprocess(image_encoder)
        self.graph(image_graph(image_encoder, self.preprocess))
        part = commentary_part(image_encoder, self.options.commentary_words)
        if part is not None:
            self.commentary, vocabulary = part
            self.writer.write_json(self.commentary.vocabulary, vocabulary)
            self.licences["commentary"] = vocabulary.get("licence", PROJECT_LICENCE)
        text = text_graph(_encoder(self.specs["text"]), TEXT_ENCODER, "text_tokenizer.json",
                          self.writer.staging)
        self.tokenizers[TEXT_ENCODER] = text.tokenizer
        self.graph(text.source)
        self.licences[IMAGE_ENCODER] = encoder_licence(self.specs["image"])
        self.licences[TEXT_ENCODER] = encoder_licence(self.specs["text"])

    def decoder(self) -> DecoderSpec:
        image = torch.from_numpy(self.graphs[IMAGE_ENCODER].reference[0][:1])
        text = torch.from_numpy(self.graphs[TEXT_ENCODER].reference[0][:1])
        model = self.run.model()
        self.licences["decoder"] = f"{PROJECT_LICENCE}: weights trained by this project"
        tokens = self.run.config.tokens
        if not model.samples or tokens is None:
            self.graph(decoder_source(model, image, text))
            return DecoderSpec(frames=self.run.config.frames)
        temperatures = self.options.temperatures or tokens.temperatures
        if len(temperatures) != tokens.stages:
            raise ExportError(f"give one temperature per codebook stage ({tokens.stages}), got "
                              f"{len(temperatures)}: {temperatures}")
        guidance = tokens.guidance if self.options.guidance is None else self.options.guidance
        if guidance != 1.0 and not tokens.guided:
            raise ExportError(f"guidance {guidance} needs a run trained with condition dropout "
                              "(train --condition-dropout); export this one with guidance 1.0")
        guided = tokens.guided and guidance != 1.0
        repeat = tuple(self.options.repeat)
        if repeat and (len(repeat) != tokens.stages or not tokens.tempo_bpm):
            raise ExportError(f"the repetition prior needs one strength per codebook stage "
                              f"({tokens.stages}, got {repeat}) and a run with a tempo head "
                              "(train --beat-clock)")
        palette = float(self.options.palette)
        if palette < 0 or (palette and tokens.palette_dim == 0):
            raise ExportError(f"the palette prior ({palette}) needs a strength ≥ 0 and a run with "
                              "a palette head (python -m training.palette_head)")
        condition, step = token_decoder_sources(model, image, text, guided, bool(repeat),
                                                palette > 0)
        self.graph(condition)
        self.graph(step)
        primer = self.primer_bank(model.decoder.codebook, guided or bool(tokens.beat_features))
        return DecoderSpec(TOKENS, tokens.frames, step.name, tokens.stages, tokens.codebook_size,
                           tokens.num_layers, tokens.hidden_dim, tuple(temperatures),
                           guidance=guidance if guided else 1.0, tempo_bpm=tokens.tempo_bpm,
                           beat_features=tokens.beat_features, repeat=repeat,
                           repeat_beats=float(self.options.repeat_beats) if repeat else 0.0,
                           palette=palette, **primer)

    def primer_bank(self, codebook, unsupported: bool) -> dict:
        """The primer bank's files and DecoderSpec fields (empty without --primer-frames);
        `unsupported`: the run has a beat clock or is exported with guidance."""
        frames = int(self.options.primer_frames)
        if frames <= 0:
            return {}
        if unsupported:
            raise ExportError("a primer bank is not supported with a beat clock or guidance; "
                              "export a run without them, with guidance 1.0, or without "
                              "--primer-frames")
        dataset = self.run.dataset
        if dataset is None:
            raise ExportError("the primer bank is built from the run's data set, which is "
                              "missing; rebuild it or export without --primer-frames")
        self.progress.step(f"building the primer bank ({frames} frames)")
        try:
            bank = build_primer_bank(dataset, self.specs["image"], self.specs["text"], codebook,
                                     frames)
        except PrimerError as error:
            raise ExportError(str(error)) from error
        self.writer.write_npy("primer_embeddings.npy", bank.embeddings)
        self.writer.write_npy("primer_codes.npy", bank.codes)
        self.writer.write_json("primers.json", {"split": PRIMER_SPLIT, "frames": frames,
                                                "primers": bank.entries})
        self.licences["primers"] = ("codes of the data set's music clips; each clip's licence "
                                    "is in the caption index")
        return {"primer_frames": frames, "primer_embeddings": "primer_embeddings.npy",
                "primer_codes": "primer_codes.npy"}

    def vocoder(self) -> VocoderSpec:
        audio = self.run.audio
        source = load_vocoder(self.options.vocoder, audio)
        self.licences["vocoder"] = source.licence
        self.vocoder_provenance = {
            key: (self.portable(value) if key in ("source", "choice") and Path(value).exists()
                  else value)
            for key, value in source.provenance.items()}
        if source.generator is None:
            return VocoderSpec(source.name, None, GRIFFIN_LIM_CONTEXT_FRAMES, source.config)
        self.progress.step("measuring the vocoder's receptive field")
        context = receptive_field_frames(source.generator, audio) + CONTEXT_MARGIN_FRAMES
        self.graph(vocoder_source(source.generator, audio))
        return VocoderSpec(source.name, VOCODER, context, source.config)

    def feelings(self) -> FeelingsSpec | None:
        image_spec = self.specs["image"]
        image_dim = self.graphs[IMAGE_ENCODER].reference[0].shape[-1]
        if self.options.feelings_head is not None:
            head = load_head(self.options.feelings_head, image_dim)
        elif image_spec.family == "open_clip":
            head = zero_shot_feelings(_encoder(image_spec))
        elif self.run.feelings_head is not None:
            head = load_head(self.run.feelings_head, image_dim)
        else:
            logger.warning("no feelings graph: %s is not a CLIP encoder and neither the run nor "
                           "--feelings-head has a feelings head, so the kiosk shows no emotion "
                           "chips", image_spec.name)
            return None
        image = torch.from_numpy(self.graphs[IMAGE_ENCODER].reference[0][:1])
        self.graph(feelings_source(head.module, image))
        return FeelingsSpec(ARTEMIS_EMOTIONS, FEELINGS, head.kind, head.prompts)

    def captions(self) -> CaptionIndexSpec | None:
        path = self.options.captions or self.run.dataset
        if path is None:
            logger.warning("no caption index: give --captions (data set or music JSONL) so "
                           "prompts carry audio labels and keywords")
            return None
        corpus: CaptionCorpus = read_captions(path)
        caption_spec = EncoderSpec.parse(self.options.caption_encoder)
        graph, tokenizer_key = TEXT_ENCODER, TEXT_ENCODER
        if caption_spec != self.specs["text"]:
            text = text_graph(_encoder(caption_spec), CAPTION_ENCODER,
                              "caption_tokenizer.json", self.writer.staging)
            self.tokenizers[CAPTION_ENCODER] = text.tokenizer
            self.graph(text.source)
            self.licences[CAPTION_ENCODER] = encoder_licence(caption_spec)
            graph, tokenizer_key = CAPTION_ENCODER, CAPTION_ENCODER
        self.progress.step(f"embedding {len(corpus.entries)} captions")
        tokenizer_spec = self.tokenizers[tokenizer_key]
        tokenizer = load_tokenizer(self.writer.path(tokenizer_spec.file), tokenizer_spec)
        vectors = embed_captions(self.writer.path(self.graphs[graph].spec.file), tokenizer,
                                 corpus.entries)
        self.writer.write_json("captions.json", {
            "source": self.portable(corpus.source),
            "captions": [CaptionEntry.to_dict(e) for e in corpus.entries]})
        self.writer.write_npy("caption_embeddings.npy", vectors)
        self.licences["captions"] = (", ".join(sorted(corpus.licences))
                                     or f"see {self.portable(corpus.source)}")
        return CaptionIndexSpec("captions.json", "caption_embeddings.npy", graph, tokenizer_key,
                                len(corpus.entries))

    def manifest(self, vocoder: VocoderSpec, feelings: FeelingsSpec | None,
                 captions: CaptionIndexSpec | None,
                 decoder: DecoderSpec | None = None) -> Manifest:
        run = self.run
        encoders = {role: spec.to_dict() for role, spec in self.specs.items()}
        if captions is not None:
            encoders["caption"] = EncoderSpec.parse(self.options.caption_encoder).to_dict()
        provenance = {
            "paths": "relative to the bundle directory",
            "checkpoint": self.portable(run.weights),
            **{k: run.sidecar.get(k) for k in ("epoch", "step", "val_loss")},
            "untrained": bool(run.sidecar.get("untrained", False)),
            "training_data": self.portable((run.sidecar.get("train_config") or {}).get("data")),
            "encoder_packages": {role: encoder_packages(spec) for role, spec in self.specs.items()},
            "vocoder": self.vocoder_provenance,
            "export": export_environment(),
            "fp16_requested": self.options.fp16,
        }
        return Manifest(
            audio=run.audio, mel_norm=run.mel_norm, encoders=encoders,
            graphs={name: g.spec for name, g in self.graphs.items()},
            preprocessing=self.preprocess, tokenizers=self.tokenizers, vocoder=vocoder,
            feelings=feelings, caption_index=captions, commentary=self.commentary,
            decoder=decoder or DecoderSpec(), provenance=provenance,
            licences=self.licences)


def export_bundle(options: ExportOptions, progress: Progress | None = None) -> ExportResult:
    """Exports the run in `options.checkpoint` to the bundle directory `options.out`."""
    progress = progress or _Silent()
    start = time.perf_counter()
    with BundleWriter(options.out) as writer:
        exporter = _Exporter(options, writer, progress)
        exporter.encoders()
        decoder = exporter.decoder()
        vocoder = exporter.vocoder()
        feelings = exporter.feelings()
        captions = exporter.captions()
        progress.step("hashing and writing the manifest")
        manifest = writer.commit(exporter.manifest(vocoder, feelings, captions, decoder))
    reports = [g.report for g in exporter.graphs.values()]
    return ExportResult(writer.out_dir, manifest, reports, time.perf_counter() - start)
