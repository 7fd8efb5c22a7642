"""The inference engine: a model bundle run by onnxruntime, without torch (docs/CONTRACTS.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from core.audio_config import AudioConfig
from core.beat import lag_frames, onset_lagged, steady_clock
from core.loudness import DEFAULT_TARGET_DBFS, STREAMED_LOUDNESS_SECONDS, normalising_gain
from core.mel import denormalize
from core.prompt import clean_text
from engine.bundle import Bundle
from engine.captions import CaptionIndex, CaptionMatch
from engine.commentary import Commentary, Vocabulary, build_commentary, raw_features
from engine.errors import EngineError
from engine.growing_mel import GrowingMel
from engine.inputs import check_compose_args
from engine.manifest import (
    DECODER,
    IMAGE_ENCODER,
    TEXT_ENCODER,
    DecoderSpec,
    Manifest,
    VocoderSpec,
)
from engine.piece import Piece
from engine.preprocess import preprocess_image
from engine.providers import CPU, resolve_providers
from engine.reading import COMMENT_POLICY, Reading, art_commentary, prompt_feelings
from engine.session import GraphSession, SessionSettings
from engine.streaming import stream_vocode
from engine.tensorrt import CACHE_DIR_NAME, ShapeRange
from engine.tokenize import TextTokenizer, fit_prompt, load_tokenizer
from engine.vocoder import GriffinLimVocoder, OnnxVocoder, Vocoder

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_FRAMES = 64
"""Streamed block size: 64 frames = 16 384 samples ≈ 0.74 s at 22.05 kHz."""

FIRST_CHUNK_FRAMES = 32
"""The first streamed block is half a block (≈ 0.37 s): its vocoder window is 46 frames with
the context instead of 78, so the first sound comes about 190 ms sooner on a 2-core CPU."""

MAX_CHUNK_FRAMES = DEFAULT_CHUNK_FRAMES
"""Streamed blocks after the second may double up to this size (engine.streaming.chunk_windows).
Larger blocks spend less vocoder work on context frames (a V1 piece vocodes 1 036 frames for its
896 with 256, 1 120 with 128, 1 288 with 64), but they arrive in bursts: in a 10-minute soak
with 128-frame blocks (generation at 1.1-1.4x real time beside the video camera) the buffer ran
dry 3 times (7 blocks), where 20 minutes with 64-frame blocks had none. So the kiosk keeps
64-frame blocks; `vocode_stream(max_chunk_frames=...)` and the benches can ask for more."""

AUTO_VOCODER, FULL_VOCODER, LIGHT_VOCODER = "auto", "full", "light"
VOCODER_CHOICES = (AUTO_VOCODER, FULL_VOCODER, LIGHT_VOCODER)
"""Which of a bundle's vocoders plays (``Engine.load(vocoder=...)``, the kiosk's
``engine_vocoder``): ``full`` the manifest's ``vocoder``; ``light`` its ``vocoder_light`` (the
full one where the bundle has none); ``auto`` the light one when the full one would run on the
CPU, the full one on a GPU. On the 2-core CPU the light vocoder streams a piece 7.1× faster than
real time and V1 1.7× (README "The light vocoder"); a GPU runs V1 far faster than that."""

MEL_CHUNK_FRAMES = 16
"""Frames a sampling decoder generates at a time for a streamed piece (≈ 0.19 s of audio, ≈ 10 ms
of step-graph runs): the first block waits for at most 15 frames more than it needs."""


def _shape_ranges(manifest: Manifest, chunk_frames: int) -> dict[str, ShapeRange]:
    """TensorRT profiles for the bundle's symbolic dimensions (see export/graphs.py)."""
    context = manifest.vocoder.context_frames
    longest = max((t.context_length for t in manifest.tokenizers.values()), default=1)
    return {
        "frames": ShapeRange(1, chunk_frames + 2 * context, manifest.audio.frames),
        "length": ShapeRange(1, 32, longest),
        "batch": ShapeRange(1, 1, 1),
    }


class Engine:
    """Painting + comment → music, from a bundle. Thread-safe for one UI thread plus one worker
    (each graph session runs under its own lock; everything else is read-only)."""

    def __init__(self, bundle: Bundle, sessions: dict[str, GraphSession],
                 tokenizers: dict[str, TextTokenizer], vocoder: Vocoder,
                 caption_index: CaptionIndex | None,
                 vocabulary: Vocabulary | None = None,
                 light_vocoder: Vocoder | None = None) -> None:
        self.bundle = bundle
        self._sessions = sessions
        self._tokenizers = tokenizers
        self._full_vocoder = vocoder
        self._light_vocoder = light_vocoder
        self._vocoder = vocoder
        self._captions = caption_index
        self._vocabulary = vocabulary
        self.comment_policy = COMMENT_POLICY
        """``join`` or ``replace``: what a visitor's comment does to the painting's commentary."""
        self._primers: tuple[np.ndarray, np.ndarray] | None = None
        self._code_bias: np.ndarray | None = None

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, bundle_dir: str | Path, providers: Sequence[str] | str | None = None, *,
             verify: bool = True, warmup: bool = True, intra_op_threads: int = 0,
             cache_dir: str | Path | None = None, vocoder: str = AUTO_VOCODER) -> Engine:
        """Opens and hash-checks a bundle, starts one session per graph, and warms them up.

        `providers` overrides the TensorRT → CUDA → CPU order (names or ``tensorrt``/``cuda``/
        ``cpu``); unavailable ones fall back with a log line. TensorRT engines are cached in
        `cache_dir` (default ``<bundle>/trt_cache``). `vocoder` picks which of the bundle's
        vocoders plays (``VOCODER_CHOICES``; :meth:`choose_vocoder`).
        """
        if vocoder not in VOCODER_CHOICES:
            raise EngineError(f"Unknown vocoder choice {vocoder!r}; use one of "
                              f"{', '.join(VOCODER_CHOICES)}.")
        bundle = Bundle.open(bundle_dir, verify=verify)
        manifest = bundle.manifest
        settings = SessionSettings(
            providers=tuple(resolve_providers(providers)),
            cache_root=Path(cache_dir) if cache_dir else bundle.directory / CACHE_DIR_NAME,
            intra_op_threads=intra_op_threads,
            shape_ranges=_shape_ranges(manifest, DEFAULT_CHUNK_FRAMES),
            spinning_graphs=frozenset({DECODER}),
            single_thread_graphs=frozenset({manifest.decoder.step_graph} - {None}),
        )
        sessions = {
            name: GraphSession(name, bundle.path(spec.file), spec,
                               tuple(manifest.files.get(f, f"unlisted:{f}") for f in spec.files),
                               settings)
            for name, spec in manifest.graphs.items()
        }
        tokenizers = {name: load_tokenizer(bundle.path(spec.file), spec)
                      for name, spec in manifest.tokenizers.items()}
        full_vocoder: Vocoder
        if manifest.vocoder.graph is None:
            full_vocoder = GriffinLimVocoder(manifest.audio)
        else:
            full_vocoder = OnnxVocoder(manifest.vocoder.name, sessions[manifest.vocoder.graph])
        light = manifest.vocoder_light
        light_vocoder = (OnnxVocoder(light.name, sessions[light.graph])
                         if light is not None and light.graph is not None else None)
        index = None
        if manifest.caption_index is not None:
            index = CaptionIndex.load(bundle.path(manifest.caption_index.captions),
                                      bundle.path(manifest.caption_index.embeddings))
        vocabulary = None
        if manifest.commentary is not None:
            vocabulary = Vocabulary.load(bundle.path(manifest.commentary.vocabulary))
        engine = cls(bundle, sessions, tokenizers, full_vocoder, index, vocabulary, light_vocoder)
        logger.info("engine ready: %s", ", ".join(f"{g}={p[0]}" for g, p in
                                                 engine.providers.items()))
        engine.choose_vocoder(vocoder)
        if warmup:
            engine.warmup()
        return engine

    def warmup(self) -> None:
        """Runs every graph once (TensorRT builds or loads its engines here, not mid-visit)."""
        start = time.perf_counter()
        image = self.describe(np.zeros((8, 8, 3), dtype=np.uint8)).image_embedding
        text = self.encode_text("warm up")
        self.nearest_caption("warm up")
        mel = self.generate_mel(image, text)
        if not isinstance(self._vocoder, GriffinLimVocoder):
            next(self.vocode_stream(mel))
        if self._light_vocoder is not None:  # ready before the kiosk switches to it
            self._light_vocoder(mel[:, :FIRST_CHUNK_FRAMES])
        logger.info("warm-up took %.2f s", time.perf_counter() - start)

    # ----------------------------------------------------------------------------- facts
    @property
    def manifest(self) -> Manifest:
        return self.bundle.manifest

    @property
    def audio(self) -> AudioConfig:
        return self.manifest.audio

    @property
    def providers(self) -> dict[str, tuple[str, ...]]:
        """Execution providers each graph actually runs on (first = the one used)."""
        return {name: session.providers for name, session in self._sessions.items()}

    @property
    def vocoder_name(self) -> str:
        """The vocoder that plays now: the bundle's, or its light one after
        :meth:`use_light_vocoder`."""
        return self._vocoder_spec.name

    @property
    def light_vocoder_name(self) -> str | None:
        """The bundle's lighter second vocoder (manifest ``vocoder_light``), None without one."""
        return None if self._light_vocoder is None else self.manifest.vocoder_light.name

    def choose_vocoder(self, choice: str = AUTO_VOCODER) -> str:
        """Plays the vocoder `choice` names (``VOCODER_CHOICES``) and returns the name of the one
        that plays. ``auto``: the light one where the bundle has one and its full vocoder runs
        on the CPU provider (it is then the cost that limits real time), else the full one."""
        if choice not in VOCODER_CHOICES:
            raise EngineError(f"Unknown vocoder choice {choice!r}; use one of "
                              f"{', '.join(VOCODER_CHOICES)}.")
        on_cpu = (self.manifest.vocoder.graph is not None
                  and self._sessions[self.manifest.vocoder.graph].providers[0] == CPU)
        light = choice == LIGHT_VOCODER or (choice == AUTO_VOCODER and on_cpu)
        if choice == LIGHT_VOCODER and self._light_vocoder is None:
            logger.warning("vocoder 'light' asked for, but this bundle has no light vocoder; "
                           "%s plays.", self.manifest.vocoder.name)
        self.use_light_vocoder(light)
        if self._light_vocoder is not None:
            logger.info("vocoder: %s (%s; the bundle also has %s)", self.vocoder_name, choice,
                        self.light_vocoder_name if self.vocoder_name != self.light_vocoder_name
                        else self.manifest.vocoder.name)
        return self.vocoder_name

    def use_light_vocoder(self, light: bool = True) -> bool:
        """Plays the next pieces with the light vocoder (or the full one again); returns whether
        the light one is in use (False when the bundle has none)."""
        self._vocoder = (self._light_vocoder if light and self._light_vocoder is not None
                         else self._full_vocoder)
        return self._vocoder is not self._full_vocoder

    @property
    def _vocoder_spec(self) -> VocoderSpec:
        return (self.manifest.vocoder_light if self._vocoder is not self._full_vocoder
                else self.manifest.vocoder)

    def _session(self, graph: str) -> GraphSession:
        try:
            return self._sessions[graph]
        except KeyError:
            raise EngineError(f"this bundle has no {graph} graph; re-export it with one.") from None

    def _embedding(self, graph: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self._session(graph).run(feeds)[0][0], dtype=np.float32)

    # ----------------------------------------------------------------------------- stages
    def encode_image(self, rgb: np.ndarray) -> np.ndarray:
        """Unit image embedding [D_img] of an H×W×3 uint8 RGB frame."""
        pixels = preprocess_image(rgb, self.manifest.preprocessing)
        name = self._session(IMAGE_ENCODER).input_names[0]
        return self._embedding(IMAGE_ENCODER, {name: pixels})

    def describe(self, rgb: np.ndarray) -> Reading:
        """The engine's reading of a painting: image embedding, every ArtEmis feeling ranked,
        and the art commentary (what it shows and how it looks; "" when the bundle has no
        commentary vocabulary). One run of the image graph."""
        pixels = preprocess_image(rgb, self.manifest.preprocessing)
        session = self._session(IMAGE_ENCODER)
        outputs = session.run({session.input_names[0]: pixels})
        named = {spec.name: np.asarray(value[0], dtype=np.float32)
                 for spec, value in zip(session.spec.outputs, outputs, strict=True)}
        embedding = np.asarray(outputs[0][0], dtype=np.float32)
        feelings = tuple(self.feelings(embedding, top_k=len(self.manifest.feelings.labels))
                         if self.manifest.feelings else ())
        return Reading(embedding, feelings, self._commentary(named))

    def _commentary(self, outputs: dict[str, np.ndarray]) -> Commentary:
        spec = self.manifest.commentary
        if spec is None or self._vocabulary is None:
            return Commentary()
        probabilities = outputs.get(spec.class_output) if spec.class_output else None
        features = None
        if spec.colour_output and spec.colour_output in outputs:
            features = raw_features(outputs[spec.colour_output], spec.colour_features)
        return build_commentary(self._vocabulary, probabilities, features)

    def encode_text(self, prompt: str) -> np.ndarray:
        """Unit text embedding [D_txt] of a prompt (normally `build_prompt`'s output)."""
        return self._embedding(TEXT_ENCODER, self._tokenizers[TEXT_ENCODER].feeds([prompt]))

    def feelings(self, image_embedding: np.ndarray, top_k: int = 5) -> list[tuple[str, float]]:
        """The `top_k` ArtEmis emotions with their probabilities, most likely first.

        Returns an empty list when the bundle has no feelings graph (a non-CLIP bundle exported
        without an emotion head).
        """
        spec = self.manifest.feelings
        if spec is None:
            return []
        name = self._session(spec.graph).input_names[0]
        scores = self._embedding(spec.graph, {name: self._check(image_embedding, spec.graph)})
        order = np.argsort(-scores)[: max(0, top_k)]
        return [(spec.labels[i], float(scores[i])) for i in order]

    def nearest_caption(self, text: str) -> CaptionMatch | None:
        """The training caption nearest to `text` (None without a caption index or text)."""
        text = clean_text(text)
        if self._captions is None or not text:
            return None
        spec = self.manifest.caption_index
        feeds = self._tokenizers[spec.tokenizer].feeds([text])
        return self._captions.nearest(self._embedding(spec.encoder_graph, feeds))

    def build_prompt(self, comment: str, feelings: Sequence[str]) -> str:
        """Composite prompt of Sec. III.A.3: the comment, the chosen feelings, and the Audio Set
        labels and keywords of the training caption nearest to the comment (or, for an empty
        comment, to the feelings)."""
        labels = [f[0] if isinstance(f, tuple) else str(f) for f in feelings]
        match = self.nearest_caption(comment) or self.nearest_caption(", ".join(labels))
        audio_labels = match.entry.labels if match else ()
        keywords = match.entry.keywords if match else ()
        # cut by tokens: the feelings and audio parts always fit the text encoder (issue 10)
        return fit_prompt(self._tokenizers[TEXT_ENCODER], comment, labels, audio_labels, keywords)

    def prompt(self, reading: Reading, comment: str = "",
               feelings: Sequence[str] | None = None) -> str:
        """The composite prompt for a painting's reading and a visitor's comment, by the rules
        of engine/reading.py (chosen feelings or the top predicted one; the comment joined with
        or replacing the commentary). Every composing caller uses this."""
        labels = prompt_feelings(reading.feelings, feelings)
        return self.build_prompt(art_commentary(comment, reading.text, self.comment_policy),
                                 labels)

    def _check(self, vector: np.ndarray, graph: str, index: int = 0) -> np.ndarray:
        spec = self.manifest.graphs[graph].inputs[index]
        array = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        expected = spec.shape[-1]
        if isinstance(expected, int) and array.shape[1] != expected:
            raise EngineError(f"{spec.name} has {array.shape[1]} values but the {graph} graph "
                              f"expects {expected}; pass this engine's own embeddings.")
        return array

    @property
    def samples(self) -> bool:
        """True when the bundle's decoder samples: each seed gives a new variation."""
        return self.manifest.decoder.samples

    @staticmethod
    def new_seed() -> int:
        """A fresh seed for a sampled piece (logged with it, so the piece can be reproduced)."""
        return int(np.random.SeedSequence().entropy % (2**31 - 1))

    def generate_mel(self, image_embedding: np.ndarray, text_embedding: np.ndarray,
                     seed: int | None = None) -> np.ndarray:
        """Natural-log Mel [n_mels, frames]: the decoder's normalised output, de-normalised.

        A sampling (``tokens``) decoder draws the piece with `seed` (a fresh one when None); the
        same seed and embeddings give the same Mel, the same as `mel_chunks` joined. The paper's
        decoder ignores `seed`.
        """
        spec = self.manifest.decoder
        if spec.samples:
            return np.concatenate(list(self.mel_chunks(image_embedding, text_embedding, seed,
                                                       spec.frames)), axis=1)
        return denormalize(self._decode(image_embedding, text_embedding)[0],
                           self.manifest.mel_norm)

    def mel_chunks(self, image_embedding: np.ndarray, text_embedding: np.ndarray,
                   seed: int | None = None, chunk_frames: int = MEL_CHUNK_FRAMES
                   ) -> Iterator[np.ndarray]:
        """Natural-log Mel chunks [n_mels, ≤ `chunk_frames`] in order; joined, they are
        `generate_mel`'s Mel for the same seed, frame for frame.

        The decoder graph runs now. A sampling decoder's step graph runs while the chunks are
        taken (one run per frame, so the first chunk comes after `chunk_frames` runs, not the
        piece's); the paper's decoder makes the whole Mel at once and it is handed out in cuts.
        """
        if chunk_frames < 1:
            raise EngineError(f"chunk_frames must be ≥ 1, got {chunk_frames}; pass a positive "
                              "chunk size.")
        outputs = self._decode_all(image_embedding, text_embedding)
        spec = self.manifest.decoder
        if spec.samples:
            primer = self.primer_codes(image_embedding) if spec.primed else None
            return self._sample_chunks(spec, outputs, self.new_seed() if seed is None else seed,
                                       chunk_frames, primer)
        mel = denormalize(outputs[0][0], self.manifest.mel_norm)
        return (mel[:, start:start + chunk_frames]
                for start in range(0, mel.shape[-1], chunk_frames))

    def stream_mel(self, image_embedding: np.ndarray, text_embedding: np.ndarray,
                   seed: int | None = None) -> GrowingMel:
        """The piece's Mel as a `GrowingMel`, generated as it is read (`mel_chunks` in chunks
        of `MEL_CHUNK_FRAMES`): `vocode_stream` takes it and asks each block's frames in turn."""
        spec = self.manifest.decoder
        if not spec.samples:
            mel = self.generate_mel(image_embedding, text_embedding)
            return GrowingMel(iter([mel]), *mel.shape)
        return GrowingMel(self.mel_chunks(image_embedding, text_embedding, seed),
                          self.audio.n_mels, spec.frames)

    def _decode(self, image_embedding: np.ndarray, text_embedding: np.ndarray) -> np.ndarray:
        """One run of the decoder graph: the normalised Mel [1, n_mels, frames], or for a
        sampling decoder the condition [1, hidden]."""
        return self._decode_all(image_embedding, text_embedding)[0]

    def _decode_all(self, image_embedding: np.ndarray, text_embedding: np.ndarray
                    ) -> list[np.ndarray]:
        """Every output of one decoder-graph run (a beat-clock decoder adds tempo logits)."""
        session = self._session(DECODER)
        image_name, text_name = session.input_names
        feeds = {image_name: self._check(image_embedding, DECODER, 0),
                 text_name: self._check(text_embedding, DECODER, 1)}
        return session.run(feeds)

    def tempo(self, image_embedding: np.ndarray, text_embedding: np.ndarray) -> float | None:
        """The generation tempo (BPM) the decoder picks for these embeddings; None when the
        bundle's decoder has no tempo head."""
        spec = self.manifest.decoder
        if not spec.tempo_bpm:
            return None
        return self._tempo_of(spec, self._decode_all(image_embedding, text_embedding))

    @staticmethod
    def _tempo_of(spec: DecoderSpec, outputs: list[np.ndarray]) -> float:
        if len(outputs) < 2 or np.asarray(outputs[1]).size != len(spec.tempo_bpm):
            raise EngineError(f"the decoder graph gives no tempo logits over the manifest's "
                              f"{len(spec.tempo_bpm)} tempo classes; re-export the bundle.")
        return float(spec.tempo_bpm[int(np.argmax(outputs[1]))])

    def _primer_bank(self) -> tuple[np.ndarray, np.ndarray]:
        """(unit image embeddings [N, Di], codes [N, frames, stages]) of the primer bank."""
        if self._primers is None:
            spec = self.manifest.decoder
            try:
                embeddings = np.load(self.bundle.path(spec.primer_embeddings or ""))
                codes = np.load(self.bundle.path(spec.primer_codes or ""))
            except (OSError, ValueError) as error:
                raise EngineError(f"the primer bank cannot be read ({error}); re-export the "
                                  "bundle.") from error
            if (codes.ndim != 3 or codes.shape[0] != embeddings.shape[0]
                    or codes.shape[1:] != (spec.primer_frames, spec.stages)):
                raise EngineError(f"the primer bank's codes {codes.shape} do not match its "
                                  f"{embeddings.shape[0]} images × {spec.primer_frames} frames × "
                                  f"{spec.stages} stages; re-export the bundle.")
            self._primers = (embeddings.astype(np.float32), codes.astype(np.int64))
        return self._primers

    def code_bias(self) -> np.ndarray | None:
        """The log-prior [1, stages, codebook_size] added to every sampled frame's noise
        (core/code_bias.py); None when the bundle has none."""
        spec = self.manifest.decoder
        if not spec.biased:
            return None
        if self._code_bias is None:
            try:
                bias = np.load(self.bundle.path(spec.code_bias or ""))
            except (OSError, ValueError) as error:
                raise EngineError(f"the code bias cannot be read ({error}); re-export the "
                                  "bundle.") from error
            if bias.shape != (spec.stages, spec.codebook_size) or not np.isfinite(bias).all():
                raise EngineError(f"the code bias {bias.shape} is not {spec.stages} stages × "
                                  f"{spec.codebook_size} finite values; re-export the bundle.")
            self._code_bias = bias.astype(np.float32)[None]
        return self._code_bias

    def primer_codes(self, image_embedding: np.ndarray) -> np.ndarray | None:
        """The primer [primer_frames, stages] a painting starts from: the codes of the bank
        image nearest to `image_embedding` (training/primers.py); None without a bank."""
        if not self.manifest.decoder.primed:
            return None
        embeddings, codes = self._primer_bank()
        query = np.asarray(image_embedding, np.float32).reshape(-1)
        if query.size != embeddings.shape[1]:
            raise EngineError(f"image embedding has {query.size} values, the primer bank "
                              f"{embeddings.shape[1]}; pass this engine's own embeddings.")
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        return codes[int(np.argmax(embeddings @ query))]

    def _palette_of(self, spec: DecoderSpec, outputs: list[np.ndarray]) -> np.ndarray:
        """The palette head's log q(c | image) [1, codebook_size] from the decoder graph."""
        names = [t.name for t in self.manifest.graphs[DECODER].outputs]
        if "palette" not in names:
            raise EngineError("the manifest's palette prior needs the decoder graph's palette "
                              "output; re-export the bundle.")
        palette = np.asarray(outputs[names.index("palette")], dtype=np.float32)
        if palette.size != spec.codebook_size:
            raise EngineError(f"the decoder graph's palette has {palette.size} values for "
                              f"{spec.codebook_size} codes; re-export the bundle.")
        return palette.reshape(1, -1)

    def _sample_chunks(self, spec: DecoderSpec, outputs: list[np.ndarray], seed: int,
                       chunk_frames: int, primer: np.ndarray | None = None
                       ) -> Iterator[np.ndarray]:
        """Natural-log Mel chunks, one run of the step graph per frame: the previous frame's
        codes and the LSTM state go in (with a beat clock, the frame's beat phase at the
        predicted tempo; with guidance, the scale; with the repetition prior, the codes chosen
        `repeat_beats` beats back and its strengths), the sampled codes, their normalised Mel
        frame and the new state come out (Gumbel-max sampling, noise drawn here from `seed`,
        chunk by chunk: the generator's stream is the same as one draw for the whole piece; the
        bundle's `code_bias`, if any, is added to it). A `primer` [K, stages] is teacher-forced
        first (its frames are not played; the noise stream is not touched, so a seed gives the
        same draws with or without one)."""
        step = self._session(spec.step_graph or "")
        bias = self.code_bias()
        rng = np.random.default_rng(seed)
        state_shape = (spec.layers, spec.state_batch, spec.hidden)
        feeds = {"previous_codes": np.full((1, spec.stages), spec.codebook_size, dtype=np.int64),
                 "condition": np.asarray(outputs[0], dtype=np.float32).reshape(1, -1),
                 "h0": np.zeros(state_shape, np.float32), "c0": np.zeros(state_shape, np.float32),
                 "inverse_temperature": np.asarray([1.0 / t for t in spec.temperatures],
                                                   dtype=np.float32)}
        if spec.guided:
            feeds["guidance"] = np.asarray([spec.guidance], dtype=np.float32)
        clock = (steady_clock(spec.frames, self._tempo_of(spec, outputs), self.audio)
                 if spec.beat_features else None)
        lag = 0
        history = np.empty((spec.frames, spec.stages), dtype=np.int64)
        if spec.repeats:
            if not spec.tempo_bpm or len(spec.repeat) != spec.stages or spec.repeat_beats <= 0:
                raise EngineError("the manifest's repetition prior needs a tempo head, one "
                                  "strength per stage and a positive lag in beats; re-export "
                                  "the bundle.")
            lag = lag_frames(self._tempo_of(spec, outputs), spec.repeat_beats, self.audio)
            feeds["repeat"] = np.asarray(spec.repeat, dtype=np.float32)
        if spec.palette > 0:
            feeds["palette"] = self._palette_of(spec, outputs)
            feeds["palette_strength"] = np.asarray([spec.palette], dtype=np.float32)
        missing = set(step.input_names) - set(feeds) - {"noise", "beat", "lagged_codes"}
        if (missing or (clock is None) == ("beat" in step.input_names)
                or spec.repeats != ("lagged_codes" in step.input_names)
                or (spec.palette > 0) != ("palette" in step.input_names)):
            raise EngineError(f"the step graph's inputs {step.input_names} do not match the "
                              "manifest's decoder section; re-export the bundle.")
        if primer is not None:
            if clock is not None or spec.guided:
                raise EngineError("a primer bank with a beat clock or guidance is not "
                                  "supported; re-export the bundle without --primer-frames.")
            feeds["noise"] = np.zeros((1, spec.stages, spec.codebook_size), np.float32)
            if lag:
                feeds["lagged_codes"] = np.full((1, spec.stages), spec.codebook_size, np.int64)
            for code in np.asarray(primer, np.int64):
                _, _, feeds["h0"], feeds["c0"] = step.run(feeds)
                feeds["previous_codes"] = code[None]
        for start in range(0, spec.frames, chunk_frames):
            count = min(chunk_frames, spec.frames - start)
            uniform = rng.random((count, 1, spec.stages, spec.codebook_size), dtype=np.float32)
            noise = -np.log(-np.log(np.clip(uniform, 1e-10, 1.0 - 1e-7)))
            if bias is not None:
                noise += bias
            mel = np.empty((self.audio.n_mels, count), dtype=np.float32)
            for t in range(count):
                feeds["noise"] = noise[t]
                if clock is not None:
                    feeds["beat"] = clock[start + t][None]
                if lag:
                    feeds["lagged_codes"] = onset_lagged(history, start + t, lag,
                                                         spec.codebook_size)
                codes, frame, feeds["h0"], feeds["c0"] = step.run(feeds)
                history[start + t] = codes[0]
                feeds["previous_codes"] = codes
                mel[:, t] = frame[0]
            yield denormalize(mel, self.manifest.mel_norm)

    def _check_mel(self, log_mel: np.ndarray | GrowingMel) -> np.ndarray | GrowingMel:
        array = log_mel if isinstance(log_mel, GrowingMel) else np.asarray(log_mel, np.float32)
        shape = array.shape
        if len(shape) != 2 or shape[0] != self.audio.n_mels or shape[1] < 1:
            raise EngineError(f"log-Mel must have shape [{self.audio.n_mels}, frames], got "
                              f"{shape}; pass generate_mel's output.")
        return array

    def vocode(self, log_mel: np.ndarray) -> np.ndarray:
        """Waveform [frames · hop] float32 of a natural-log Mel, in one pass."""
        mel = self._check_mel(log_mel)
        if isinstance(mel, GrowingMel):
            mel = mel.complete()
        return np.asarray(self._vocoder(mel), dtype=np.float32)

    def vocode_stream(self, log_mel: np.ndarray | GrowingMel,
                      chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                      max_chunk_frames: int | None = MAX_CHUNK_FRAMES) -> Iterator[np.ndarray]:
        """Audio blocks in order: the first of min(chunk_frames, FIRST_CHUNK_FRAMES) frames, the
        second of `chunk_frames`, then doubling up to `max_chunk_frames` (None: all of
        `chunk_frames`), each vocoded with the bundle's context frames on both sides; the first
        block costs half a chunk, not the whole piece.
        A `GrowingMel` (`stream_mel`) is generated as the blocks need it: block [a, b) waits for
        frames up to b + context, and the blocks are those of the complete Mel.

        Joined, they equal `vocode`: for the ONNX HiFi-GAN within ``STREAM_ATOL`` = 1e-5 max
        abs difference; for Griffin-Lim (cross-faded at block joins) the log-Mel stays within
        ``GRIFFIN_LIM_MEL_TOL`` = 0.5 nats mean abs difference (see engine.streaming).
        """
        return stream_vocode(self._vocoder, self._check_mel(log_mel), self.audio.hop_length,
                             chunk_frames, self._vocoder_spec.context_frames,
                             self._vocoder.crossfade, min(chunk_frames, FIRST_CHUNK_FRAMES),
                             None if max_chunk_frames is None
                             else max(chunk_frames, max_chunk_frames))

    def gain(self, log_mel: np.ndarray | GrowingMel,
             target_dbfs: float | None = DEFAULT_TARGET_DBFS,
             window_seconds: float = STREAMED_LOUDNESS_SECONDS) -> float:
        """The loudness gain `compose` gives a piece (core/loudness.py; 1 when `target_dbfs` is
        None): from its whole Mel, or for a `GrowingMel` from its first `window_seconds`
        (generated now if they are not yet), so that a streamed piece's first block need not
        wait for the whole Mel (core.loudness.STREAMED_LOUDNESS_SECONDS says why 2 s)."""
        if target_dbfs is None:
            return 1.0
        if isinstance(log_mel, GrowingMel):
            frames = max(1, round(window_seconds * self.audio.sample_rate / self.audio.hop_length))
            log_mel = log_mel.until(frames)[:, :frames]
        return normalising_gain(log_mel, self.audio, target_dbfs)

    def compose(self, painting: np.ndarray | Reading, comment: str = "",
                feelings: Sequence[str] | None = None,
                chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                target_dbfs: float | None = DEFAULT_TARGET_DBFS,
                seed: int | None = None) -> Piece:
        """All stages for one visit, the way the kiosk plays it; the audio streams from
        `Piece.blocks()` (raw) or `Piece.playback_blocks()` (with the loudness gain).

        `painting` is an RGB frame or an earlier `describe` result (a recompose for the same
        painting skips the image graph). Without `feelings`, the top predicted one is used;
        `comment` joins (or replaces) the art commentary; `target_dbfs` None keeps the
        vocoder's level (gain 1). A sampling decoder draws the piece with `seed` (a fresh one
        when None, recorded in ``Piece.seed``): compose again for a new variation.

        A sampling decoder's piece is streamed: compose runs the decoder graph (the condition)
        and the step graph only for the frames the loudness gain reads (`gain`: the first
        2 s; none with `target_dbfs` None); the blocks generate the rest as they are taken,
        and ``Piece.log_mel`` finishes it for whoever needs the whole Mel, once.
        """
        check_compose_args(painting, comment, feelings, chunk_frames, target_dbfs, seed)
        timings: dict[str, float] = {}

        def timed(stage: str, fn, *args):
            start = time.perf_counter()
            result = fn(*args)
            timings[stage] = time.perf_counter() - start
            return result

        reading = (painting if isinstance(painting, Reading)
                   else timed("image", self.describe, painting))
        labels = prompt_feelings(reading.feelings, feelings)
        prompt = timed("prompt", self.prompt, reading, comment, labels)
        text = timed("text", self.encode_text, prompt)
        log_mel: np.ndarray | GrowingMel
        if self.samples:
            seed = self.new_seed() if seed is None else seed
            log_mel = timed("mel", self.stream_mel, reading.image_embedding, text, seed)
            gain = timed("loudness", self.gain, log_mel, target_dbfs)
        else:
            log_mel = timed("mel", self.generate_mel, reading.image_embedding, text, seed)
            gain = self.gain(log_mel, target_dbfs)
        return Piece(prompt=prompt, feelings=labels, image_embedding=reading.image_embedding,
                     text_embedding=text, mel=log_mel, sample_rate=self.audio.sample_rate,
                     hop_length=self.audio.hop_length,
                     stream=partial(self.vocode_stream, chunk_frames=chunk_frames),
                     timings=timings, gain=float(gain), reading=reading,
                     seed=seed if self.samples else None)
