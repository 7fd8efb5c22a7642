"""The Qt resource reader and the puzzle reassembly of the gcompris paintings."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from training.corpora.config import PAINTINGS_RCC
from training.corpora.masterpieces import load_boards, parse_board, reassemble
from training.corpora.rcc import RccError, RccFile


def _write_rcc(path: Path, files: dict[str, tuple[bytes, bool]]) -> None:
    """A minimal rcc (format 3) with one directory level: {name: (bytes, compress)}."""
    names, data, nodes = b"", b"", []

    def name_offset(name: str) -> int:
        nonlocal names
        offset = len(names)
        encoded = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + encoded
        return offset

    root = struct.pack(">IHII", 0, 2, 1, 1) + b"\0" * 8
    folder = struct.pack(">IHII", name_offset("dir"), 2, len(files), 2) + b"\0" * 8
    nodes = [root, folder]
    for name, (payload, compress) in files.items():
        stored = struct.pack(">I", len(payload)) + zlib.compress(payload) if compress else payload
        nodes.append(struct.pack(">IHHHI", name_offset(name), 1 if compress else 0, 0, 0,
                                 len(data)) + b"\0" * 8)
        data += struct.pack(">I", len(stored)) + stored
    tree = b"".join(nodes)
    header_size = 24
    tree_offset, data_offset = header_size, header_size + len(tree)
    names_offset = data_offset + len(data)
    header = b"qres" + struct.pack(">IIIII", 3, tree_offset, data_offset, names_offset, 0)
    path.write_bytes(header + tree + data + names)


def test_reader_lists_and_reads_plain_and_compressed_files(tmp_path):
    rcc_path = tmp_path / "test.rcc"
    _write_rcc(rcc_path, {"a.txt": (b"hello", False), "b.qml": (b"x" * 500, True)})
    rcc = RccFile(rcc_path)
    assert rcc.list() == ["/dir/a.txt", "/dir/b.qml"]
    assert rcc.read("/dir/a.txt") == b"hello"
    assert rcc.read("dir/b.qml") == b"x" * 500
    with pytest.raises(KeyError):
        rcc.read("/dir/missing")


def test_reader_refuses_other_files(tmp_path):
    bad = tmp_path / "bad.rcc"
    bad.write_bytes(b"not a resource file at all")
    with pytest.raises(RccError, match="qres"):
        RccFile(bad)


def test_board_parser_reads_size_and_tile_centres():
    text = '''QtObject {
       property string instruction: qsTr("Someone, Something - 1900")
       property var levels : [
          {"pixmapfile" : "image/bg.svg", "type" : "SHAPE_BACKGROUND_IMAGE",
           "width": 702, "height": 515},
          {"pixmapfile" : "image/x_1.webp", "x" : "0.25", "y" : "0.5"}
       ]}'''
    board = parse_board("board1_0.qml", text)
    assert (board.caption, board.width, board.height) == ("Someone, Something - 1900", 702, 515)
    assert board.tiles == (("image/x_1.webp", 0.25, 0.5),)


needs_gcompris = pytest.mark.skipif(not PAINTINGS_RCC.is_file(),
                                    reason="Debian gcompris-qt-data is not installed")


@needs_gcompris
def test_gcompris_paintings_resource_holds_22_boards():
    boards = load_boards(RccFile(PAINTINGS_RCC))
    assert len(boards) == 22
    assert all(len(b.tiles) >= 6 for b in boards.values())


@needs_gcompris
def test_great_wave_is_reassembled_into_a_full_canvas():
    rcc = RccFile(PAINTINGS_RCC)
    board = load_boards(rcc)["board7_0.qml"]
    assert "Great Wave" in board.caption
    canvas = reassemble(rcc, board)
    height, width, _ = canvas.shape
    assert 600 <= width <= 702 and 400 <= height <= 515
    assert (canvas.sum(axis=2) < 15).mean() < 0.01
    blue_share = (canvas[..., 2].astype(int) > canvas[..., 0].astype(int) + 20).mean()
    assert blue_share > 0.1
    seam = canvas[:, width // 2 - 2: width // 2 + 2].astype(float)
    assert np.abs(np.diff(seam, axis=1)).mean() < 25
