"""Reads the two input corpora of the weak alignment (Sec. III.A.1–2) from JSONL files.

paintings: one JSON object per line with ``image_path``, ``comment`` and optional ``emotion``
(ArtEmis label) and ``id`` — the ArtEmis side. music: ``audio_path``, ``caption`` and optional
``offset``, ``labels``, ``keywords``, ``id``, ``licence`` — the MusicCaps side. Relative paths
are resolved against the folder of the JSONL file. Errors name the file and line number.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.prompt import clean_text
from training.dataset.errors import DatasetError

_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class PaintingRecord:
    """One art comment: the painting it is about, the viewer's text and its ArtEmis emotion."""

    id: str
    image_path: Path
    comment: str
    emotion: str | None
    line: int


@dataclass(frozen=True)
class MusicRecord:
    """One music clip with its caption; ``audio_id`` names its cached Mel file."""

    audio_id: str
    audio_path: Path
    caption: str
    offset: float
    labels: tuple[str, ...]
    keywords: tuple[str, ...] | None
    licence: str | None
    line: int


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yields (line number, object) for every non-blank line; a bad line names its number."""
    if not path.is_file():
        raise DatasetError(f"corpus file {path} does not exist; pass the path of a JSONL file.")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"{path} line {number} is not valid JSON ({exc.msg}); fix or delete that line."
                ) from exc
            if not isinstance(value, dict):
                raise DatasetError(
                    f"{path} line {number} is not a JSON object; write one object per line."
                )
            yield number, value


def _text_field(record: dict, key: str, path: Path, line: int, required: bool) -> str | None:
    value = record.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(
            f"{path} line {line}: field {key!r} is missing or not a non-empty string; "
            f"give every line a {key!r}."
        )
    return value


def _string_list(record: dict, key: str, path: Path, line: int) -> tuple[str, ...] | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DatasetError(
            f"{path} line {line}: field {key!r} must be a list of strings, e.g. [\"piano\"]."
        )
    return tuple(clean_text(item, 80) for item in value if clean_text(item, 80))


def _resolve(path_text: str, corpus: Path, line: int, kind: str, check: bool) -> Path:
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = corpus.parent / path
    path = path.resolve()
    if check and not path.is_file():
        raise DatasetError(
            f"{corpus} line {line}: {kind} file {path} does not exist; fix the path "
            "(relative paths are read from the JSONL file's folder)."
        )
    return path


def safe_id(text: str) -> str:
    """A file-name-safe form of an id; ids changed by sanitising get a short hash suffix."""
    cleaned = _SAFE_ID.sub("_", text).strip("._") or "item"
    if cleaned != text:
        cleaned = f"{cleaned[:80]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return cleaned


def read_paintings(path: str | Path, limit: int | None = None,
                   check_files: bool = True) -> list[PaintingRecord]:
    """Reads the paintings corpus; repeated ids get ``-2``, ``-3``... so row ids stay unique."""
    path = Path(path)
    records: list[PaintingRecord] = []
    seen: dict[str, int] = {}
    for line, record in read_jsonl(path):
        if limit is not None and len(records) >= limit:
            break
        image = _resolve(_text_field(record, "image_path", path, line, True), path, line,
                         "image", check_files)
        comment = clean_text(_text_field(record, "comment", path, line, True))
        emotion = _text_field(record, "emotion", path, line, False)
        raw_id = record.get("id")
        base = str(raw_id) if raw_id is not None and str(raw_id).strip() else f"p{line:07d}"
        seen[base] = seen.get(base, 0) + 1
        row_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        records.append(PaintingRecord(row_id, image, comment,
                                      clean_text(emotion).lower() if emotion else None, line))
    if not records:
        raise DatasetError(
            f"paintings corpus {path} holds no records; add JSON lines with image_path and comment."
        )
    return records


def read_music(path: str | Path, check_files: bool = True) -> list[MusicRecord]:
    """Reads the music corpus; ids must be unique (they name the cached Mel files)."""
    path = Path(path)
    records: list[MusicRecord] = []
    lines_by_id: dict[str, int] = {}
    for line, record in read_jsonl(path):
        audio = _resolve(_text_field(record, "audio_path", path, line, True), path, line,
                         "audio", check_files)
        caption = clean_text(_text_field(record, "caption", path, line, True))
        offset = record.get("offset", 0.0)
        if isinstance(offset, bool) or not isinstance(offset, int | float) or offset < 0:
            raise DatasetError(
                f"{path} line {line}: offset must be a number of seconds >= 0, got {offset!r}."
            )
        raw_id = record.get("id")
        if raw_id is not None and str(raw_id).strip():
            audio_id = safe_id(str(raw_id))
        else:
            digest = hashlib.sha1(f"{audio}@{float(offset)}".encode()).hexdigest()[:8]
            audio_id = f"{safe_id(audio.stem)}-{digest}"
        if audio_id in lines_by_id:
            raise DatasetError(
                f"{path} line {line}: id {audio_id!r} already used on line "
                f"{lines_by_id[audio_id]}; give every clip a unique id."
            )
        lines_by_id[audio_id] = line
        licence = record.get("licence")
        records.append(MusicRecord(
            audio_id=audio_id,
            audio_path=audio,
            caption=caption,
            offset=float(offset),
            labels=_string_list(record, "labels", path, line) or (),
            keywords=_string_list(record, "keywords", path, line),
            licence=str(licence) if licence is not None else None,
            line=line,
        ))
    if not records:
        raise DatasetError(
            f"music corpus {path} holds no records; add JSON lines with audio_path and caption."
        )
    return records
