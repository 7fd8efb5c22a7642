"""Caption index of the bundle: training-corpus captions + labels + keywords, embedded once.

Captions come from a data set directory (``manifest.jsonl`` rows: ``caption``, ``audio_labels``,
``caption_keywords``) or a music corpus JSONL (``caption``, ``labels``, ``keywords``,
``licence``). They are embedded with the bundle's own caption-encoder graph and tokenizer, so
the engine's query embeddings are made exactly the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.captions import CaptionEntry
from engine.tokenize import TextTokenizer
from export.errors import ExportError


@dataclass
class CaptionCorpus:
    entries: list[CaptionEntry]
    licences: set[str] = field(default_factory=set)
    source: str = ""


def _rows(path: Path):
    manifest = path / "manifest.jsonl" if path.is_dir() else path
    if not manifest.is_file():
        raise ExportError(f"no captions at {path}; pass a data set directory (manifest.jsonl) or "
                          "a music corpus JSONL file.")
    with manifest.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise ExportError(f"{manifest} line {number} is not JSON ({error}); fix or "
                                      "rebuild the file.") from error


def read_captions(path: str | Path) -> CaptionCorpus:
    """Distinct captions (first occurrence wins) with their labels and keywords."""
    path = Path(path)
    seen: dict[str, CaptionEntry] = {}
    licences: set[str] = set()
    for row in _rows(path):
        caption = str(row.get("caption", "")).strip()
        if not caption or caption in seen:
            continue
        labels = row.get("audio_labels", row.get("labels", ()))
        keywords = row.get("caption_keywords", row.get("keywords", ()))
        seen[caption] = CaptionEntry(caption, tuple(labels or ()), tuple(keywords or ()))
        if row.get("licence"):
            licences.add(str(row["licence"]))
    if not seen:
        raise ExportError(f"{path} holds no captions; build the data set first.")
    return CaptionCorpus(list(seen.values()), licences, str(path.resolve()))


def embed_captions(graph_path: Path, tokenizer: TextTokenizer, entries: list[CaptionEntry],
                   batch_size: int = 64,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Unit embeddings [N, D] float16 of the captions, through the exported encoder graph."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(graph_path), options, providers=["CPUExecutionProvider"])
    if session.get_inputs()[0].shape[0] == 1:
        batch_size = 1
    outputs = []
    for start in range(0, len(entries), batch_size):
        texts = [e.caption for e in entries[start:start + batch_size]]
        outputs.append(session.run(None, tokenizer.feeds(texts))[0])
        if progress:
            progress(len(texts))
    vectors = np.concatenate(outputs).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float16)
