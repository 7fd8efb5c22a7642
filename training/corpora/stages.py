"""Resumable build stages: each finished unit of work is appended as one JSONL line.

A unit (a track, a rendered clip, a painting) is written as ``{"unit": key, "rows": [...]}``
once it is complete, so an interrupted build resumes after the last whole unit. A torn last line
(the process killed mid-write) is ignored and that unit redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from training.dataset.manifest import write_json_atomic, write_jsonl_atomic


class StageStore:
    """Append-only record of the finished units of one build stage."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.units: dict[str, list[dict]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.units[entry["unit"]] = entry["rows"]

    def done(self, unit: str) -> bool:
        return unit in self.units

    def add(self, unit: str, rows: list[dict]) -> None:
        """Records `unit` as finished with its rows (flushed to disk at once)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"unit": unit, "rows": rows}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.units[unit] = rows

    def rows(self, units: Iterable[str] | None = None) -> list[dict]:
        """Rows of the given units in that order (all units in insertion order by default)."""
        keys = list(self.units) if units is None else [u for u in units if u in self.units]
        return [row for key in keys for row in self.units[key]]


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    """Writes `rows` as JSONL atomically (the data-set builder's writer); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_jsonl_atomic(path, rows)


def write_json(path: Path, value: object) -> None:
    """Writes pretty JSON atomically (the data-set builder's writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, value)
