"""The data set manifest: ``<dataset>/manifest.jsonl``, one triplet per line (docs/CONTRACTS.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

MANIFEST_NAME = "manifest.jsonl"

MANIFEST_FIELDS: tuple[str, ...] = (
    "id", "image_path", "comment", "painting_emotion", "audio_id", "audio_path", "audio_offset",
    "caption", "audio_labels", "caption_keywords", "prompt", "similarity", "mel_path", "split",
)
"""Every row holds exactly these fields, in this order."""


def write_jsonl_atomic(path: Path, rows: Iterable[dict]) -> int:
    """Writes rows as JSON lines through a temp file + ``os.replace``; returns the row count."""
    temp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with temp.open("w", encoding="utf-8") as handle:
            for row in rows:  # one row in memory at a time: `rows` may be a generator
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    os.replace(temp, path)
    return count


def write_json_atomic(path: Path, value: object, indent: int | None = 2) -> None:
    """Writes one JSON document through a temp file + ``os.replace``."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(value, indent=indent, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    os.replace(temp, path)


def write_manifest(dataset_dir: Path, rows: Iterable[dict]) -> Path:
    """Writes the manifest atomically, checking that every row has the contract fields; rows
    stream through (a generator keeps memory flat for ArtEmis-sized data sets)."""

    def checked(rows: Iterable[dict]) -> Iterator[dict]:
        for row in rows:
            if tuple(row) != MANIFEST_FIELDS:
                raise ValueError(f"manifest row {row.get('id')!r} fields {list(row)} break the "
                                 "contract")
            yield row

    path = dataset_dir / MANIFEST_NAME
    write_jsonl_atomic(path, checked(rows))
    return path


def read_manifest(dataset_dir: str | Path) -> list[dict]:
    """Rows of ``<dataset>/manifest.jsonl``."""
    path = Path(dataset_dir) / MANIFEST_NAME
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def dataset_relative(path: Path, dataset_dir: Path) -> str:
    """A path relative to the dataset folder when inside it, else absolute (contract rule)."""
    try:
        return path.resolve().relative_to(dataset_dir.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
