"""Stage: the 22 public-domain artworks of Debian gcompris-qt-data, reassembled from puzzle tiles.

``paintings.rcc`` holds each artwork cut into webp tiles (with alpha) and one board file per
artwork listing the tiles and the relative position of each tile's centre on a 702 × 515 board.
Pasting every tile at its centre (alpha-weighted where tiles overlap) and cropping to the
covered area restores the canvas. Comments come from the hand-written, versioned
``assets/data/masterpiece_comments.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.prompt import ARTEMIS_EMOTIONS
from training.corpora.config import MASTERPIECE_COMMENTS, PAINTINGS_RCC, CorporaConfig
from training.corpora.debian import DebianError, ensure_installed
from training.corpora.rcc import RccFile
from training.corpora.stages import StageStore

RESOURCE = "/gcompris/src/activities/paintings/resource/"
PACKAGES: tuple[str, ...] = ("gcompris-qt-data",)
"""Debian packages this source needs (installed by `debian.ensure_installed`)."""
SOURCE = "debian:gcompris-qt-data"
LICENCE = "public domain artwork; scan from gcompris-qt-data (WebMuseum), GPL-3+ packaging"
_TILE = re.compile(r'"pixmapfile"\s*:\s*"(image/[^"]+?\.(?:webp|png|jpg))"\s*,\s*'
                   r'"x"\s*:\s*"([\d.]+)"\s*,\s*"y"\s*:\s*"([\d.]+)"')


class MasterpieceError(ValueError):
    """The comments file or the gcompris boards are not what this stage expects."""


@dataclass(frozen=True)
class Board:
    name: str
    caption: str
    width: int
    height: int
    tiles: tuple[tuple[str, float, float], ...]


def parse_board(name: str, text: str) -> Board:
    """Reads one ``boardN_0.qml``: caption, board size and (tile file, centre x, centre y)."""
    caption = re.search(r'qsTr\("(.*?)"\)', text)
    width = re.search(r'"width"\s*:\s*(\d+)', text)
    height = re.search(r'"height"\s*:\s*(\d+)', text)
    tiles = tuple((f, float(x), float(y)) for f, x, y in _TILE.findall(text))
    if not (width and height and tiles):
        raise MasterpieceError(f"board {name} has no size or no tiles; is this gcompris 3.x?")
    return Board(name, caption.group(1) if caption else "", int(width.group(1)),
                 int(height.group(1)), tiles)


def load_boards(rcc: RccFile) -> dict[str, Board]:
    """All paintings boards of the resource file by file name (``board7_0.qml``)."""
    boards = {}
    for path in rcc.list(RESOURCE + "board/"):
        name = path.rsplit("/", 1)[1]
        boards[name] = parse_board(name, rcc.read(path).decode("utf-8"))
    return boards


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MasterpieceError("a tile could not be decoded; OpenCV lacks webp support.")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    if image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


def reassemble(rcc: RccFile, board: Board) -> np.ndarray:
    """The full RGB canvas of a board: tiles pasted at their centres, cropped to the covered
    area, pinholes between tiles filled by inpainting."""
    tiles = []
    for file, x, y in board.tiles:
        image = _decode(rcc.read(RESOURCE + file))
        h, w = image.shape[:2]
        tiles.append((image, int(round(x * board.width - w / 2)),
                      int(round(y * board.height - h / 2))))
    left = min(0, *(x0 for _, x0, _ in tiles))
    top = min(0, *(y0 for _, _, y0 in tiles))
    right = max(board.width, *(x0 + t.shape[1] for t, x0, _ in tiles))
    bottom = max(board.height, *(y0 + t.shape[0] for t, _, y0 in tiles))
    colour = np.zeros((bottom - top, right - left, 3), np.float32)
    weight = np.zeros((bottom - top, right - left), np.float32)
    for image, x0, y0 in tiles:
        alpha = image[..., 3].astype(np.float32) / 255
        ys, xs = slice(y0 - top, y0 - top + image.shape[0]), slice(x0 - left, x0 - left + image.shape[1])
        colour[ys, xs] += image[..., :3] * alpha[..., None]
        weight[ys, xs] += alpha
    covered = weight > 0.5
    rows, cols = np.where(covered)
    crop = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    rgb = (colour / np.maximum(weight, 1e-6)[..., None]).clip(0, 255).astype(np.uint8)[crop]
    holes = (~covered[crop]).astype(np.uint8)
    if holes.any():
        rgb = cv2.inpaint(rgb, holes, 3, cv2.INPAINT_TELEA)
    return rgb


def load_comments(path: Path = MASTERPIECE_COMMENTS) -> list[dict]:
    """The hand-written comment records, checked against the ArtEmis emotion list."""
    if not path.is_file():
        raise MasterpieceError(f"comments file {path} is missing; restore it from the repository.")
    paintings = json.loads(path.read_text(encoding="utf-8"))["paintings"]
    for p in paintings:
        for c in p["comments"]:
            if c["emotion"] not in ARTEMIS_EMOTIONS:
                raise MasterpieceError(f"{p['id']}: emotion {c['emotion']!r} is not an ArtEmis "
                                       "category; use one of core.prompt.ARTEMIS_EMOTIONS.")
    return paintings


def build_masterpieces(config: CorporaConfig, problems: list[str]) -> list[dict]:
    """Writes the reassembled canvases and one row per hand-written comment."""
    try:
        ensure_installed(PACKAGES, install=config.install, source="masterpieces")
    except DebianError as error:
        problems.append(f"masterpieces skipped: {error}")
        return []
    rcc = RccFile(PAINTINGS_RCC)
    boards = load_boards(rcc)
    store = StageStore(config.stages_dir / "masterpieces.jsonl")
    out_dir = config.paintings_dir / "masterpieces"
    out_dir.mkdir(parents=True, exist_ok=True)
    records = load_comments()
    for record in records:
        if store.done(record["id"]):
            continue
        if record["board"] not in boards:
            problems.append(f"masterpiece {record['id']}: board {record['board']} not in the rcc")
            continue
        image_path = out_dir / f"{record['id']}.png"
        rgb = reassemble(rcc, boards[record["board"]])
        cv2.imwrite(str(image_path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        rows = [{
            "id": f"{record['id']}-c{k + 1}",
            "image_path": image_path.relative_to(config.out).as_posix(),
            "comment": comment["text"],
            "emotion": comment["emotion"],
            "source": SOURCE,
            "licence": LICENCE,
            "held_out": bool(record["held_out"]),
            "title": record["title"],
            "artist": record["artist"],
            "year": record["year"],
            "width": int(rgb.shape[1]),
            "height": int(rgb.shape[0]),
        } for k, comment in enumerate(record["comments"])]
        store.add(record["id"], rows)
    return store.rows([r["id"] for r in records])
