"""The model bundle's `manifest.json` schema, shared by the writer (export) and the reader (engine).

A bundle is a directory::

    manifest.json             this schema (format_version, components, hashes, provenance)
    image_encoder.onnx        pixels [1, 3, S, S] → unit image embedding [1, D_img]
    text_encoder.onnx         token ids → unit text embedding [1, D_txt]   (+ its tokenizer.json)
    decoder.onnx              image_emb, text_emb → normalised Mel [1, n_mels, frames]
                              (``decoder.kind`` ``tokens``: → condition [1, H], and
    decoder_step.onnx         one sampled frame of Mel codes per run, LSTM state in and out)
    vocoder.onnx              natural-log Mel [1, n_mels, T] → audio [1, 1, T · hop]  (or none:
                              the named no-weights vocoder ``griffin_lim``)
    feelings.onnx             image_emb → probabilities over ArtEmis emotions [1, 9]
    commentary.json           the art commentary's vocabulary (engine/commentary.py), when the
                              image graph gives class probabilities and/or colour features
    caption_encoder.onnx      sentence encoder for caption matching (absent when the text
                              encoder already is that sentence encoder)
    captions.json, caption_embeddings.npy   caption index for the composite prompt (III.A.3)

Every file is listed in ``files`` with its SHA-256; the reader refuses a bundle whose files do
not match. Only plain JSON types are used so that the manifest stays readable by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.audio_config import AudioConfig, MelNormalization

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

IMAGE_ENCODER = "image_encoder"
TEXT_ENCODER = "text_encoder"
DECODER = "decoder"
DECODER_STEP = "decoder_step"
VOCODER = "vocoder"
VOCODER_LIGHT = "vocoder_light"
"""Graph of a bundle's optional light second vocoder (Manifest.vocoder_light)."""
FEELINGS = "feelings"
CAPTION_ENCODER = "caption_encoder"

GRIFFIN_LIM = "griffin_lim"
"""Name of the no-weights vocoder (core.griffin_lim); it has no graph."""


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output; symbolic dimensions are strings (``"frames"``)."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"

    @classmethod
    def from_dict(cls, values: dict) -> TensorSpec:
        return cls(values["name"], tuple(values["shape"]), values.get("dtype", "float32"))


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX graph of the bundle.

    ``weights`` is the storage precision of its initialisers (``fp16`` only where parity held);
    ``fp16_compute`` allows TensorRT fp16 kernels (parity of a half-precision run measured at
    export); ``tensorrt`` False keeps the graph off TensorRT (the BiLSTM decoder, see
    MODEL_NOTES.md). ``parity`` holds the measured max abs errors against PyTorch.
    """

    file: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    weights: str = "fp32"
    fp16_compute: bool = False
    tensorrt: bool = True
    parity: dict[str, float] = field(default_factory=dict)
    external_data: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return (self.file, *self.external_data)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GraphSpec:
        return cls(
            file=values["file"],
            inputs=tuple(TensorSpec.from_dict(v) for v in values["inputs"]),
            outputs=tuple(TensorSpec.from_dict(v) for v in values["outputs"]),
            weights=values.get("weights", "fp32"),
            fp16_compute=bool(values.get("fp16_compute", False)),
            tensorrt=bool(values.get("tensorrt", True)),
            parity=dict(values.get("parity", {})),
            external_data=tuple(values.get("external_data", ())),
        )


@dataclass(frozen=True)
class ImagePreprocess:
    """Pixels for the image encoder, as open_clip's ``PreprocessCfg`` describes them.

    ``resize_mode`` ``shortest``: resize the short side to ``size`` then centre-crop (open_clip's
    default); ``squash``: resize both sides to ``size``; ``area-squash``: the same with OpenCV's
    area interpolation (the perceptual encoder). ``mean``/``std`` act on [0, 1] values.
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize_mode: str = "shortest"
    interpolation: str = "bicubic"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ImagePreprocess:
        return cls(
            size=int(values["size"]),
            mean=tuple(float(v) for v in values["mean"]),
            std=tuple(float(v) for v in values["std"]),
            resize_mode=values.get("resize_mode", "shortest"),
            interpolation=values.get("interpolation", "bicubic"),
        )


@dataclass(frozen=True)
class TokenizerSpec:
    """How text becomes graph inputs.

    ``kind`` ``clip_bpe``: open_clip's SimpleTokenizer as a `tokenizers` JSON; the graph input
    ``tokens`` is [1, context_length] = [sot] + ids + [eot], zero padded, cut to fit.
    ``kind`` ``hf``: a Hugging Face tokenizer (its post-processor adds [CLS]/[SEP]);
    graph inputs ``input_ids`` and ``attention_mask`` [B, L], L ≤ ``context_length``.
    """

    kind: str
    file: str
    context_length: int
    sot_id: int | None = None
    eot_id: int | None = None
    pad_id: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TokenizerSpec:
        return cls(
            kind=values["kind"],
            file=values["file"],
            context_length=int(values["context_length"]),
            sot_id=values.get("sot_id"),
            eot_id=values.get("eot_id"),
            pad_id=int(values.get("pad_id", 0)),
        )


@dataclass(frozen=True)
class VocoderSpec:
    """The named vocoder: ``hifigan-<variant>`` with a graph, or ``griffin_lim`` without one.

    ``context_frames`` Mel frames on each side of a streamed chunk cover the generator's
    receptive field (measured at export), so chunked output equals whole-piece output.
    """

    name: str
    graph: str | None
    context_frames: int
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> VocoderSpec:
        return cls(values["name"], values.get("graph"), int(values.get("context_frames", 0)),
                   dict(values.get("config", {})))


@dataclass(frozen=True)
class FeelingsSpec:
    """ArtEmis emotion scores from an image embedding: ``zero_shot`` CLIP prompts or ``linear_head``."""

    labels: tuple[str, ...]
    graph: str
    kind: str
    prompts: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FeelingsSpec:
        return cls(tuple(values["labels"]), values["graph"], values["kind"],
                   tuple(values.get("prompts", ())))


@dataclass(frozen=True)
class CaptionIndexSpec:
    """Training-corpus captions with their audio labels/keywords and unit sentence embeddings."""

    captions: str
    embeddings: str
    encoder_graph: str
    tokenizer: str
    count: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CaptionIndexSpec:
        return cls(values["captions"], values["embeddings"], values["encoder_graph"],
                   values["tokenizer"], int(values["count"]))


@dataclass(frozen=True)
class CommentarySpec:
    """Where the art commentary (engine/commentary.py) reads a painting.

    ``graph`` (the image encoder) gives ``class_output`` (classifier probabilities over the
    vocabulary's classes, or None) and ``colour_output`` (``colour_version`` features named
    ``colour_features``, values in [-1, 1], or None); ``vocabulary`` is the bundle file with the
    subject phrases and look thresholds.
    """

    graph: str
    vocabulary: str
    class_output: str | None = None
    colour_output: str | None = None
    colour_features: tuple[str, ...] = ()
    colour_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CommentarySpec:
        return cls(values["graph"], values["vocabulary"], values.get("class_output"),
                   values.get("colour_output"), tuple(values.get("colour_features", ())),
                   values.get("colour_version", ""))


BILSTM = "bilstm"
TOKENS = "tokens"


@dataclass(frozen=True)
class DecoderSpec:
    """How the decoder makes a Mel. ``bilstm`` (the paper's): the ``decoder`` graph maps the two
    embeddings to the whole normalised Mel. ``tokens``: the ``decoder`` graph maps them to a
    condition [1, ``hidden``]; the ``step_graph`` is run once per frame with the previous codes
    [1, ``stages``], the condition, the LSTM state [``layers``, 1, ``hidden``] × 2, Gumbel noise
    [1, ``stages``, ``codebook_size``] and 1/temperature per stage, and returns the frame's codes,
    its normalised Mel frame and the new state (engine.engine.Engine.generate_mel).

    With ``beat_features`` the decoder graph also returns tempo-class logits over ``tempo_bpm``
    and the step graph takes the frame's ``beat`` clock [1, ``beat_features``] (core/beat.py);
    with ``guidance`` ≠ 1 it takes the classifier-free ``guidance`` scale [1] and its state is
    [``layers``, 2, ``hidden``] (conditional and null branch).

    With ``repeat`` (one strength per stage) the step graph also takes ``lagged_codes``
    [1, ``stages``], the codes chosen ``repeat_beats`` beats earlier at the predicted tempo where
    they were new then (``codebook_size`` elsewhere; core.beat.onset_lagged, lag_frames), and the
    ``repeat`` strengths: the repetition prior of TokenMelDecoder.step.

    With ``palette`` > 0 the decoder graph also returns ``palette`` [1, ``codebook_size``], the
    palette head's log q(c | image), and the step graph takes it with ``palette_strength`` [1]
    (= ``palette``): the palette prior of TokenMelDecoder.step.

    With ``primer_frames`` > 0 the bundle has a primer bank (training/primers.py): unit image
    embeddings ``primer_embeddings`` [N, Di] and codes ``primer_codes`` [N, primer_frames,
    ``stages``]; the engine teacher-forces the codes of the painting's nearest bank image
    through the step graph before it samples (they are not played).

    With ``code_bias`` (a file name) the bundle has a fixed log-prior b [``stages``,
    ``codebook_size``] float32 (core/code_bias.py, ``python -m export.code_bias``) that the engine
    adds to every sampled frame's Gumbel noise: the draw comes from p'(c) ∝ p(c)^(1/T) · e^(b_c),
    so the codes it penalises (the broadband ones) are drawn less; the primer is not touched."""

    kind: str = BILSTM
    frames: int = 896
    step_graph: str | None = None
    stages: int = 0
    codebook_size: int = 0
    layers: int = 0
    hidden: int = 0
    temperatures: tuple[float, ...] = ()
    guidance: float = 1.0
    tempo_bpm: tuple[float, ...] = ()
    beat_features: int = 0
    repeat: tuple[float, ...] = ()
    repeat_beats: float = 0.0
    palette: float = 0.0
    primer_frames: int = 0
    primer_embeddings: str | None = None
    primer_codes: str | None = None
    code_bias: str | None = None

    @property
    def biased(self) -> bool:
        """True when the bundle has a log-prior over codes added to every sampled frame."""
        return bool(self.code_bias)

    @property
    def primed(self) -> bool:
        """True when the bundle has a primer bank (the painting picks where a piece starts)."""
        return self.primer_frames > 0

    @property
    def repeats(self) -> bool:
        """True when the step graph takes the codes of one lag back (the repetition prior)."""
        return bool(self.repeat)

    @property
    def guided(self) -> bool:
        """True when the step graph runs a null branch beside the conditional one."""
        return self.guidance != 1.0

    @property
    def state_batch(self) -> int:
        return 2 if self.guided else 1

    @property
    def samples(self) -> bool:
        """True when every piece is a sample (seeded): a new variation per seed."""
        return self.kind == TOKENS

    def to_dict(self) -> dict:
        values = asdict(self)
        values["temperatures"] = list(self.temperatures)
        values["tempo_bpm"] = list(self.tempo_bpm)
        values["repeat"] = list(self.repeat)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> DecoderSpec:
        return cls(kind=values.get("kind", BILSTM), frames=int(values.get("frames", 896)),
                   step_graph=values.get("step_graph"), stages=int(values.get("stages", 0)),
                   codebook_size=int(values.get("codebook_size", 0)),
                   layers=int(values.get("layers", 0)), hidden=int(values.get("hidden", 0)),
                   temperatures=tuple(float(t) for t in values.get("temperatures", ())),
                   guidance=float(values.get("guidance", 1.0)),
                   tempo_bpm=tuple(float(t) for t in values.get("tempo_bpm", ())),
                   beat_features=int(values.get("beat_features", 0)),
                   repeat=tuple(float(k) for k in values.get("repeat", ())),
                   repeat_beats=float(values.get("repeat_beats", 0.0)),
                   palette=float(values.get("palette", 0.0)),
                   primer_frames=int(values.get("primer_frames", 0)),
                   primer_embeddings=values.get("primer_embeddings"),
                   primer_codes=values.get("primer_codes"),
                   code_bias=values.get("code_bias"))


def _optional(values: dict | None, cls):
    return None if values is None else cls.from_dict(values)


@dataclass(frozen=True)
class Manifest:
    """Everything the engine needs to run a bundle without torch or the training code."""

    audio: AudioConfig
    mel_norm: MelNormalization
    encoders: dict[str, dict]
    graphs: dict[str, GraphSpec]
    preprocessing: ImagePreprocess
    tokenizers: dict[str, TokenizerSpec]
    vocoder: VocoderSpec
    feelings: FeelingsSpec | None = None
    caption_index: CaptionIndexSpec | None = None
    commentary: CommentarySpec | None = None
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    files: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    licences: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    vocoder_light: VocoderSpec | None = None
    """A lighter second vocoder (``export.replace_vocoder --light``) the kiosk switches to when
    generation cannot keep up; None for most bundles."""

    def to_dict(self) -> dict:
        light = {} if self.vocoder_light is None else {"vocoder_light": self.vocoder_light.to_dict()}
        return {
            "format_version": self.format_version,
            "audio": self.audio.to_dict(),
            "mel_norm": self.mel_norm.to_dict(),
            "encoders": self.encoders,
            "graphs": {name: spec.to_dict() for name, spec in self.graphs.items()},
            "preprocessing": {"image": self.preprocessing.to_dict()},
            "tokenizers": {name: spec.to_dict() for name, spec in self.tokenizers.items()},
            "vocoder": self.vocoder.to_dict(),
            **light,
            "feelings": None if self.feelings is None else self.feelings.to_dict(),
            "caption_index": None if self.caption_index is None else self.caption_index.to_dict(),
            "commentary": None if self.commentary is None else self.commentary.to_dict(),
            "decoder": self.decoder.to_dict(),
            "files": dict(sorted(self.files.items())),
            "provenance": self.provenance,
            "licences": self.licences,
        }

    @classmethod
    def from_dict(cls, values: dict) -> Manifest:
        return cls(
            format_version=int(values["format_version"]),
            audio=AudioConfig.from_dict(values["audio"]),
            mel_norm=MelNormalization.from_dict(values["mel_norm"]),
            encoders=dict(values["encoders"]),
            graphs={k: GraphSpec.from_dict(v) for k, v in values["graphs"].items()},
            preprocessing=ImagePreprocess.from_dict(values["preprocessing"]["image"]),
            tokenizers={k: TokenizerSpec.from_dict(v) for k, v in values["tokenizers"].items()},
            vocoder=VocoderSpec.from_dict(values["vocoder"]),
            vocoder_light=_optional(values.get("vocoder_light"), VocoderSpec),
            feelings=_optional(values.get("feelings"), FeelingsSpec),
            caption_index=_optional(values.get("caption_index"), CaptionIndexSpec),
            commentary=_optional(values.get("commentary"), CommentarySpec),
            decoder=DecoderSpec.from_dict(values.get("decoder") or {}),
            files=dict(values.get("files", {})),
            provenance=dict(values.get("provenance", {})),
            licences=dict(values.get("licences", {})),
        )

    def referenced_files(self) -> set[str]:
        """Every file the engine opens; each must be covered by ``files`` (hash-checked)."""
        names = {f for spec in self.graphs.values() for f in spec.files}
        names |= {spec.file for spec in self.tokenizers.values()}
        if self.caption_index is not None:
            names |= {self.caption_index.captions, self.caption_index.embeddings}
        if self.commentary is not None:
            names.add(self.commentary.vocabulary)
        if self.decoder.primed:
            names |= {self.decoder.primer_embeddings, self.decoder.primer_codes}
        if self.decoder.biased:
            names.add(self.decoder.code_bias)
        return names
