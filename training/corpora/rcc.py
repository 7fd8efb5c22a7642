"""A short reader of Qt binary resource files (``.rcc``), enough to list and read their files.

Layout (Qt's ``rcc.cpp`` / ``qresource.cpp``): a 20-byte header (``qres`` magic, format version,
offsets of the tree, data and names tables, and from version 3 a flags word), then a tree of
fixed-size nodes (14 bytes, plus an 8-byte modification time from version 2). A directory node
holds its child count and the index of its first child; a file node holds an offset into the
data table, where a 4-byte big-endian length precedes the bytes. Names are UTF-16BE strings with
a 2-byte length and a 4-byte hash. Compressed files are zlib streams behind a 4-byte size
(``qCompress``) or zstd frames (flag 4, Qt 6; needs the ``zstandard`` package).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"qres"
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_COMPRESSED_ZSTD = 0x04


class RccError(ValueError):
    """Raised when a file is not a Qt resource file this reader understands."""


@dataclass(frozen=True)
class _Node:
    name: str
    flags: int
    child_count: int = 0
    first_child: int = 0
    data_offset: int = 0


class RccFile:
    """Read-only view of a ``.rcc`` file: ``list()`` the file paths, ``read(path)`` their bytes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._blob = self.path.read_bytes()
        if self._blob[:4] != MAGIC:
            raise RccError(f"{self.path} is not a Qt resource file (no 'qres' magic).")
        self.version, self._tree, self._data, self._names = struct.unpack_from(">4I", self._blob, 4)
        if self.version not in (1, 2, 3):
            raise RccError(f"{self.path} uses rcc format version {self.version}, not 1–3.")
        self._node_size = 14 if self.version == 1 else 22

    def _name(self, offset: int) -> str:
        start = self._names + offset
        (length,) = struct.unpack_from(">H", self._blob, start)
        raw = self._blob[start + 6 : start + 6 + 2 * length]
        return raw.decode("utf-16-be")

    def _node(self, index: int) -> _Node:
        base = self._tree + index * self._node_size
        name_offset, flags = struct.unpack_from(">IH", self._blob, base)
        name = self._name(name_offset) if index else ""
        if flags & FLAG_DIRECTORY:
            count, first = struct.unpack_from(">II", self._blob, base + 6)
            return _Node(name, flags, child_count=count, first_child=first)
        (data_offset,) = struct.unpack_from(">I", self._blob, base + 10)
        return _Node(name, flags, data_offset=data_offset)

    def _walk(self, index: int, prefix: str) -> Iterator[tuple[str, _Node]]:
        node = self._node(index)
        path = f"{prefix}/{node.name}" if node.name else prefix
        if not node.flags & FLAG_DIRECTORY:
            yield path, node
            return
        for child in range(node.first_child, node.first_child + node.child_count):
            yield from self._walk(child, path)

    def files(self) -> dict[str, _Node]:
        """All file paths (``/a/b/c.webp``, without the ``:`` of Qt) mapped to their nodes."""
        if not hasattr(self, "_files"):
            self._files = dict(self._walk(0, ""))
        return self._files

    def list(self, prefix: str = "/") -> list[str]:
        """Sorted file paths under ``prefix``."""
        return sorted(p for p in self.files() if p.startswith(prefix))

    def read(self, path: str) -> bytes:
        """The (decompressed) bytes of one file; raises KeyError for an unknown path."""
        node = self.files().get(path if path.startswith("/") else "/" + path)
        if node is None:
            raise KeyError(f"{path} is not in {self.path}.")
        start = self._data + node.data_offset
        (size,) = struct.unpack_from(">I", self._blob, start)
        payload = self._blob[start + 4 : start + 4 + size]
        if node.flags & FLAG_COMPRESSED:
            return zlib.decompress(payload[4:])
        if node.flags & FLAG_COMPRESSED_ZSTD:
            try:
                import zstandard
            except ImportError as error:
                raise RccError(f"{path} is zstd-compressed; pip install zstandard.") from error
            return zstandard.ZstdDecompressor().decompress(payload)
        return payload
