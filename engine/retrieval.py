"""Music → artwork retrieval over a bundle (issue 11): which painting of a collection fits a piece.

The bundle's manifest may hold a ``retrieval`` entry (written by ``python -m
export.music_encoder``; bundles without it load as before and simply cannot match music):

    "retrieval": {"music_graph": GraphSpec, "art_graph": GraphSpec, "embed_dim": 64,
                  "frames": 896, "image_encoder": {...}, "scores": {...}, "provenance": {...}}

``music_graph``: ``log_mel`` [1, n_mels, frames] (normalised, core.mel) → unit
``music_embedding`` [1, D]; ``art_graph``: ``image_embedding`` [batch, D_img] (the bundle's image
graph) → unit ``art_embedding`` [batch, D]. Both files are listed with their SHA-256 in the
manifest's ``files`` like every other bundle file. The sessions start on first use, so the
kiosk pays nothing until a visitor presses "listen".

    retrieval = MusicRetrieval.from_engine(engine)        # or MusicRetrieval.load(bundle_dir)
    query = retrieval.embed_audio(audio, sample_rate)     # the highlight window, embedded
    matches = retrieval.match(query.embedding, index, top_k=5)
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.highlight import Highlight, query_mel
from engine.bundle import Bundle
from engine.collection import CollectionIndex
from engine.errors import BundleError, EngineError
from engine.manifest import MANIFEST_NAME, GraphSpec
from engine.providers import resolve_providers
from engine.session import GraphSession, SessionSettings

RETRIEVAL_KEY = "retrieval"
CACHE_DIR_NAME = "trt_cache"
ADD_COMMAND = ("python -m export.music_encoder --run runs/retrieval-v1 --bundle {bundle}")


@dataclass(frozen=True)
class RetrievalSpec:
    """The manifest's optional ``retrieval`` entry (see the module docstring)."""

    music_graph: GraphSpec
    art_graph: GraphSpec
    embed_dim: int
    frames: int
    image_encoder: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.music_graph.files, *self.art_graph.files)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RetrievalSpec:
        return cls(GraphSpec.from_dict(values["music_graph"]),
                   GraphSpec.from_dict(values["art_graph"]), int(values["embed_dim"]),
                   int(values["frames"]), dict(values.get("image_encoder") or {}),
                   dict(values.get("scores") or {}), dict(values.get("provenance") or {}))


def read_retrieval_spec(bundle_dir: str | Path) -> RetrievalSpec | None:
    """The bundle's ``retrieval`` entry, or None when the bundle has none; BundleError when it
    is there but malformed."""
    path = Path(bundle_dir) / MANIFEST_NAME
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path} is unreadable ({error}); re-install the bundle.") from error
    entry = values.get(RETRIEVAL_KEY) if isinstance(values, dict) else None
    if entry is None:
        return None
    try:
        return RetrievalSpec.from_dict(entry)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{path} has a malformed {RETRIEVAL_KEY} entry ({error!r}); add the "
                          "music encoder again with `python -m export.music_encoder`.") from error


@dataclass(frozen=True)
class MusicQuery:
    """A piece of music as the retrieval sees it: its embedding, the highlight window that was
    embedded (samples at the bundle's rate) and that window's normalised log-Mel."""

    embedding: np.ndarray
    highlight: Highlight
    log_mel: np.ndarray
    sample_rate: int

    @property
    def window_seconds(self) -> tuple[float, float]:
        return self.highlight.seconds(self.sample_rate)


@dataclass(frozen=True)
class Match:
    """One artwork of the collection, its cosine to the music and its place in the ranking."""

    rank: int
    index: int
    score: float
    title: str
    artist: str
    path: str
    feelings: tuple[str, ...]
    commentary: str


class MusicRetrieval:
    """Runs the bundle's two retrieval graphs (thread-safe: one lock per session)."""

    def __init__(self, bundle: Bundle, spec: RetrievalSpec,
                 providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> None:
        self.bundle = bundle
        self.spec = spec
        self._providers = providers
        self._sessions: dict[str, GraphSession] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, bundle_dir: str | Path, providers=None, verify: bool = True) -> MusicRetrieval:
        """Opens (and hash-checks) a bundle; EngineError when it has no music encoder."""
        bundle = Bundle.open(bundle_dir, verify=verify)
        return cls._for_bundle(bundle, providers)

    @classmethod
    def from_engine(cls, engine) -> MusicRetrieval:
        """The retrieval of a loaded ``engine.Engine``'s bundle (already hash-checked)."""
        return cls._for_bundle(engine.bundle, None)

    @classmethod
    def _for_bundle(cls, bundle: Bundle, providers) -> MusicRetrieval:
        spec = read_retrieval_spec(bundle.directory)
        if spec is None:
            raise EngineError(
                f"the bundle {bundle.directory} has no music encoder, so it cannot match music "
                f"to artworks; add one with `{ADD_COMMAND.format(bundle=bundle.directory)}`.")
        missing = [f for f in spec.files if f not in bundle.manifest.files]
        if missing:
            raise BundleError(f"bundle file {missing[0]} has no SHA-256 in {MANIFEST_NAME}; add "
                              "the music encoder again with `python -m export.music_encoder`.")
        image = bundle.manifest.encoders.get("image", {})
        if spec.image_encoder and image and spec.image_encoder != image:
            raise BundleError(
                f"the bundle's music encoder was trained against the image encoder "
                f"{spec.image_encoder} but the bundle's image graph is {image}; retrain it on "
                "this image encoder (python -m training.retrieval.train) and add it again.")
        return cls(bundle, spec, tuple(resolve_providers(providers)))

    def _session(self, name: str) -> GraphSession:
        with self._lock:
            if name not in self._sessions:
                spec = self.spec.music_graph if name == "music" else self.spec.art_graph
                settings = SessionSettings(providers=self._providers,
                                           cache_root=self.bundle.directory / CACHE_DIR_NAME,
                                           intra_op_threads=1)
                hashes = tuple(self.bundle.manifest.files[f] for f in spec.files)
                self._sessions[name] = GraphSession(f"retrieval_{name}",
                                                    self.bundle.path(spec.file), spec, hashes,
                                                    settings)
            return self._sessions[name]

    @property
    def sample_rate(self) -> int:
        return self.bundle.manifest.audio.sample_rate

    def embed_mel(self, log_mel: np.ndarray) -> np.ndarray:
        """Unit music embedding [D] of a normalised log-Mel [n_mels, frames]."""
        mel = np.asarray(log_mel, dtype=np.float32)
        expected = (self.bundle.manifest.audio.n_mels, self.spec.frames)
        if mel.shape != expected:
            raise EngineError(f"the music encoder takes a normalised log-Mel of shape "
                              f"{expected}, not {mel.shape}; use core.highlight.query_mel.")
        session = self._session("music")
        return np.asarray(session.run({session.input_names[0]: mel[None]})[0][0], np.float32)

    def embed_audio(self, audio: np.ndarray, sample_rate: int) -> MusicQuery:
        """Finds the highlight (core.highlight, seed 004) of a mono waveform and embeds it.
        ValueError when the audio is empty."""
        mel, highlight = query_mel(audio, sample_rate, self.bundle.manifest.audio,
                                   self.bundle.manifest.mel_norm)
        return MusicQuery(self.embed_mel(mel), highlight, mel, self.sample_rate)

    def embed_art(self, image_embeddings: np.ndarray) -> np.ndarray:
        """Unit art embeddings [N, D] of image-graph embeddings [N, D_img] (or one [D_img])."""
        values = np.atleast_2d(np.asarray(image_embeddings, dtype=np.float32))
        session = self._session("art")
        return np.concatenate([session.run({session.input_names[0]: values[i:i + 1]})[0]
                               for i in range(len(values))]).astype(np.float32)

    def match(self, music_embedding: np.ndarray, index: CollectionIndex,
              top_k: int = 5) -> list[Match]:
        """The `top_k` artworks of `index` whose art embedding is closest (cosine) to the
        music, best first."""
        if len(index) == 0:
            raise EngineError("the collection index is empty; index a folder of artworks with "
                              "`main.py index-collection DIR`.")
        image_sha = self.bundle.manifest.files.get(
            self.bundle.manifest.graphs["image_encoder"].file)
        if index.image_graph_sha256 and image_sha and index.image_graph_sha256 != image_sha:
            raise EngineError(f"the collection index {index.path} was made with another image "
                              "encoder than this bundle's; re-index it with `main.py "
                              "index-collection`.")
        art = self.embed_art(index.image_embeddings)
        scores = art @ np.asarray(music_embedding, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:max(1, top_k)]
        return [Match(rank + 1, int(i), float(scores[i]), index.entries[i].title,
                      index.entries[i].artist, index.entries[i].path,
                      index.entries[i].feelings, index.entries[i].commentary)
                for rank, i in enumerate(order)]
