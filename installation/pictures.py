"""Reading a picture file once, at a bounded size, or saying in one sentence why it cannot be used.

Image folders (the slideshow camera source, the attract-loop artworks) may hold anything a
gallery copies there: a 20 000 px scan, a zero-byte file, a text file named ``.png``, a JPEG
cut short by a failed copy. ``load_picture`` decodes a file once and returns a BGR copy whose
longest side is at most ``max_side``:

* a JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (Pillow's ``draft``; OpenCV's
  ``IMREAD_REDUCED_COLOR_8`` beyond Pillow's decompression-bomb limit), so even a 400-megapixel
  scan costs tens of megabytes and under a second, never the full-size bitmap;
* other formats are decoded in full, once, then shrunk; above ``MAX_FULL_DECODE_PIXELS`` they are
  refused, since their full bitmap alone would take more memory than the kiosk should spend;
* an empty, unreadable or truncated file raises ``PictureError`` naming the file, and libjpeg's
  own "Premature end of JPEG file" never reaches stderr (Pillow reports it as an exception).
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

MAX_SIDE = 2048
"""Longest side of a picture kept from an image folder (the camera source's frames)."""
LARGE_PIXELS = 40_000_000
"""A picture above this many pixels is named in the log: decoding it costs time at every start,
and a copy at ``MAX_SIDE`` would serve as well."""
MAX_FULL_DECODE_PIXELS = 120_000_000
"""Above this many pixels only JPEGs (decoded at reduced scale) are read; a PNG or TIFF that
large would need its whole bitmap in memory (360 MB at 120 MP) and is refused."""
_JPEG_MAGIC = b"\xff\xd8\xff"
ORIENTATION_TAG = 0x0112
"""EXIF orientation: a phone photo is turned upright, as cv2.imread would."""


class PictureError(ValueError):
    """A picture file cannot be used; the message names it and says why, in one sentence."""


@dataclass(frozen=True)
class Picture:
    image: np.ndarray
    """BGR uint8 [H, W, 3], longest side ≤ the ``max_side`` asked for."""
    original_size: tuple[int, int]
    """(width, height) of the file as stored."""

    @property
    def large(self) -> bool:
        width, height = self.original_size
        return width * height > LARGE_PIXELS

    @property
    def shrunk(self) -> bool:
        return max(self.original_size) > max(self.image.shape[:2])


def describe_size(size: tuple[int, int]) -> str:
    width, height = size
    return f"{width}×{height} px ({width * height / 1e6:.0f} MP)"


def load_picture(path: str | Path, max_side: int = MAX_SIDE) -> Picture:
    """Decodes ``path`` once into a BGR array of longest side ≤ ``max_side``; PictureError when
    the file is empty, not a picture, damaged, truncated or too large to decode safely."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise PictureError(f"The picture {path} cannot be opened ({error.strerror}).") from None
    if size == 0:
        raise PictureError(f"The picture {path} is empty (0 bytes); skipping it.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _load_with_pillow(path, max_side)
    except Image.DecompressionBombError:
        return _load_huge(path, max_side)
    except PictureError:
        raise
    except Image.UnidentifiedImageError:
        raise PictureError(f"The file {path} is not a picture this kiosk can read ({size} bytes; "
                           "PNG, JPEG, WebP, BMP or TIFF expected); skipping it.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise PictureError(f"The picture {path} is damaged or cut short ({error}); copy it "
                           "again. Skipping it.") from None


def _load_with_pillow(path: Path, max_side: int) -> Picture:
    with Image.open(path) as opened:
        original = opened.size
        if max(original) > max_side and original[0] * original[1] > MAX_FULL_DECODE_PIXELS \
                and opened.format != "JPEG":
            raise PictureError(f"The picture {path} is {describe_size(original)}, too large to "
                               f"decode on the kiosk; save a copy at most {max_side} px on its "
                               "longest side. Skipping it.")
        if opened.format == "JPEG" and max(original) > max_side:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale, as long as both sides stay ≥ these
            opened.draft("RGB", _fitted(original, max_side))
        rotated = opened.getexif().get(ORIENTATION_TAG, 1) not in (0, 1)
        opened.load()  # raises OSError when the file is truncated
        image = ImageOps.exif_transpose(opened) if rotated else opened
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    return Picture(cv2.cvtColor(_shrink(rgb, max_side), cv2.COLOR_RGB2BGR), original)


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    scale = max_side / max(size)
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Area-averaged copy whose longest side is ``max_side`` (the image itself if smaller)."""
    height, width = image.shape[:2]
    if max(width, height) <= max_side:
        return image
    return cv2.resize(image, _fitted((width, height), max_side), interpolation=cv2.INTER_AREA)


def _load_huge(path: Path, max_side: int) -> Picture:
    """Beyond Pillow's decompression-bomb limit (≈ 179 MP): JPEGs only, at 1/8 scale."""
    with path.open("rb") as handle:
        is_jpeg = handle.read(3) == _JPEG_MAGIC
    if not is_jpeg:
        raise PictureError(f"The picture {path} is over {Image.MAX_IMAGE_PIXELS * 2 / 1e6:.0f} "
                           "megapixels, too large to decode on the kiosk; save a copy at most "
                           f"{max_side} px on its longest side. Skipping it.")
    image = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_8)
    if image is None:
        raise PictureError(f"The picture {path} is too large or damaged to decode; save a copy "
                           f"at most {max_side} px on its longest side. Skipping it.")
    height, width = image.shape[:2]
    original = jpeg_size(path) or (width * 8, height * 8)
    return Picture(_shrink(image, max_side), original)


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
"""JPEG start-of-frame markers (baseline, progressive, ...): they carry the picture's size."""


def jpeg_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame header, without decoding; None if absent."""
    with path.open("rb") as handle:
        if handle.read(2) != b"\xff\xd8":
            return None
        while True:
            byte = handle.read(1)
            while byte == b"\xff":  # fill bytes before a marker
                byte = handle.read(1)
            if not byte:
                return None
            marker = byte[0]
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:
                continue  # markers without a length
            length_bytes = handle.read(2)
            if len(length_bytes) < 2:
                return None
            (length,) = struct.unpack(">H", length_bytes)
            if marker in _SOF_MARKERS:
                header = handle.read(5)
                if len(header) < 5:
                    return None
                _precision, height, width = struct.unpack(">BHH", header)
                return width, height
            handle.seek(length - 2, 1)
