"""A gallery's collection as the retrieval reads it: one file with every artwork's image
embedding (the bundle's image graph), title, artist, feelings and commentary (issue 11).

File format (``.npz``, no pickles): ``image_embeddings`` float32 [N, D_img] and ``meta`` (one
JSON string): ``{"format": 1, "image_encoder": {...}, "image_graph_sha256": "...",
"entries": [{"path", "title", "artist", "feelings", "commentary"}, ...]}``. Entry paths are
relative to the index file's folder when the artwork lies below it or beside it, else absolute.
The index keeps raw image embeddings, so a retrained music encoder over the same image graph
needs no re-indexing; a different image graph (its SHA-256 differs) does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.errors import EngineError

INDEX_FORMAT = 1
DEFAULT_INDEX_NAME = "index.npz"


@dataclass(frozen=True)
class CollectionEntry:
    path: str
    title: str
    artist: str = ""
    feelings: tuple[str, ...] = ()
    commentary: str = ""

    def label(self) -> str:
        return f"{self.title} — {self.artist}" if self.artist else self.title


@dataclass(frozen=True)
class CollectionIndex:
    image_embeddings: np.ndarray
    entries: tuple[CollectionEntry, ...]
    image_encoder: dict
    image_graph_sha256: str = ""
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def resolve(self, entry: CollectionEntry) -> Path:
        """The artwork's file on this machine: its recorded path (relative to the index's
        folder), else a file of the same name beside the index (a collection moved whole)."""
        candidate = Path(entry.path)
        if self.path is None:
            return candidate
        recorded = candidate if candidate.is_absolute() else self.path.parent / candidate
        beside = self.path.parent / candidate.name
        return recorded if recorded.is_file() or not beside.is_file() else beside

    def save(self, path: str | Path) -> Path:
        """Writes the index atomically (a temporary file, then one rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = [asdict(e) | {"feelings": list(e.feelings)} for e in self.entries]
        meta = {"format": INDEX_FORMAT, "image_encoder": self.image_encoder,
                "image_graph_sha256": self.image_graph_sha256, "entries": entries}
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}.npz")
        np.savez(partial, image_embeddings=np.asarray(self.image_embeddings, np.float32),
                 meta=np.array(json.dumps(meta, ensure_ascii=False)))
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> CollectionIndex:
        """Reads an index; EngineError with what to do when it is missing or not an index."""
        path = Path(path)
        if not path.is_file():
            raise EngineError(f"there is no collection index at {path}; make one with "
                              "`main.py index-collection DIR`.")
        try:
            with np.load(path, allow_pickle=False) as data:
                embeddings = np.asarray(data["image_embeddings"], dtype=np.float32)
                meta = json.loads(str(data["meta"]))
            entries = tuple(CollectionEntry(str(e["path"]), str(e["title"]),
                                            str(e.get("artist", "")),
                                            tuple(e.get("feelings", ())),
                                            str(e.get("commentary", "")))
                            for e in meta["entries"])
            version = int(meta.get("format", 0))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise EngineError(f"{path} is not a collection index ({error}); make it again with "
                              "`main.py index-collection DIR`.") from error
        if version > INDEX_FORMAT or embeddings.ndim != 2 or len(entries) != len(embeddings):
            raise EngineError(f"{path} is a collection index this version cannot read (format "
                              f"{version}); make it again with `main.py index-collection DIR`.")
        return cls(embeddings, entries, dict(meta.get("image_encoder", {})),
                   str(meta.get("image_graph_sha256", "")), path)


def _portable(image: Path, index_dir: Path) -> str:
    """Relative to the index's folder when the image lies in it or below, else absolute."""
    image, index_dir = image.resolve(), index_dir.resolve()
    return image.relative_to(index_dir).as_posix() if image.is_relative_to(index_dir) \
        else str(image)


def read_sidecar(folder: Path) -> dict[str, dict[str, str]]:
    """Title and artist per file name from ``artworks.csv`` (columns file, title, artist) or
    ``artworks.json`` (a list of such objects, or {file: {title, artist}}) in `folder`."""
    import csv

    csv_path, json_path = folder / "artworks.csv", folder / "artworks.json"
    rows: list[dict] = []
    if csv_path.is_file():
        with csv_path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    elif json_path.is_file():
        try:
            values = json.loads(json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise EngineError(f"{json_path} is not valid JSON ({error}); fix or remove it.") \
                from error
        rows = ([{"file": k, **v} for k, v in values.items()] if isinstance(values, dict)
                else list(values))
    sidecar = {}
    for row in rows:
        name = str(row.get("file") or row.get("filename") or "").strip()
        if name:
            sidecar[Path(name).name] = {"title": str(row.get("title") or "").strip(),
                                        "artist": str(row.get("artist") or "").strip()}
    return sidecar


def _title_from_name(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize()


def build_index(images: Sequence[Path], describe: Callable[[np.ndarray], object],
                read_rgb: Callable[[Path], np.ndarray | None], index_path: Path,
                image_encoder: dict, image_graph_sha256: str,
                sidecar: dict[str, dict[str, str]] | None = None, top_feelings: int = 3,
                on_skip: Callable[[Path, str], None] | None = None) -> CollectionIndex:
    """Embeds every readable image through `describe` (``Engine.describe``: one image-graph
    run giving the embedding, ranked feelings and commentary). Unreadable files are skipped
    (reported through `on_skip`); EngineError when none is left."""
    sidecar = sidecar or {}
    embeddings, entries = [], []
    for image in images:
        rgb = read_rgb(image)
        if rgb is None:
            if on_skip:
                on_skip(image, "it cannot be read as a picture")
            continue
        reading = describe(rgb)
        meta = sidecar.get(image.name, {})
        feelings = tuple(label for label, _ in getattr(reading, "feelings", ())[:top_feelings])
        embeddings.append(np.asarray(reading.image_embedding, np.float32))
        entries.append(CollectionEntry(_portable(image, index_path.parent),
                                       meta.get("title") or _title_from_name(image),
                                       meta.get("artist", ""), feelings,
                                       getattr(reading, "text", "")))
    if not entries:
        raise EngineError("no artwork could be read, so there is nothing to index; point "
                          "index-collection at a folder of JPEG or PNG pictures.")
    return CollectionIndex(np.stack(embeddings), tuple(entries), dict(image_encoder),
                           image_graph_sha256, index_path)


def image_files(folder: Path, extensions: Iterable[str] = (".jpg", ".jpeg", ".png", ".bmp",
                                                           ".webp", ".tif", ".tiff")) -> list[Path]:
    """Pictures directly in `folder`, sorted by name."""
    allowed = {e.lower() for e in extensions}
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in allowed)
