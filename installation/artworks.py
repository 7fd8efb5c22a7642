"""Sample artworks for the attract loop and ``--demo``.

Pictures in ``assets/artworks/`` are used when there are any; otherwise a few small abstract
canvases are painted here (deterministically), so the kiosk always has something to show.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from installation.pictures import PictureError, describe_size, load_picture
from installation.sources import list_images

log = logging.getLogger(__name__)

MAX_SIDE = 1024


def load_artworks(folder: str | Path, limit: int = 24) -> list[np.ndarray]:
    """BGR images from ``folder`` (longest side ≤ 1024), or the painted samples when it has none."""
    images: list[np.ndarray] = []
    for path in list_images(Path(folder))[:limit]:
        try:  # decoded once, at reduced scale when it is a large JPEG (installation/pictures.py)
            picture = load_picture(path, MAX_SIDE)
        except PictureError as error:
            log.warning("Skipping an artwork: %s", error)
            continue
        if picture.large:
            log.warning("The artwork %s is %s; it is shown at %d px at most.", path,
                        describe_size(picture.original_size), MAX_SIDE)
        images.append(picture.image)
    if not images:
        log.info("No pictures in %s; using the painted sample artworks.", folder)
        images = painted_samples()
    return images


def painted_samples(width: int = 640, height: int = 480) -> list[np.ndarray]:
    """Four abstract canvases (BGR), distinct in colour and composition."""
    return [_sunset(width, height), _sea(width, height), _composition(width, height),
            _night(width, height)]


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    return x, y


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: np.ndarray) -> np.ndarray:
    a_arr, b_arr = np.array(a, np.float32), np.array(b, np.float32)
    return a_arr + (b_arr - a_arr) * t[..., None]


def _sunset(width: int, height: int) -> np.ndarray:
    x, y = _grid(width, height)
    canvas = _mix((60, 120, 250), (110, 40, 90), np.broadcast_to(y, (height, width)))
    image = canvas.astype(np.uint8)
    cv2.circle(image, (int(width * 0.62), int(height * 0.52)), int(height * 0.13),
               (90, 200, 255), -1, cv2.LINE_AA)
    hills = (0.62 + 0.06 * np.sin(x * 9.0) + 0.04 * np.sin(x * 23.0 + 1.0)) * height
    rows = np.arange(height, dtype=np.float32)[:, None]
    image[np.broadcast_to(rows > hills, (height, width))] = (50, 30, 35)
    return cv2.GaussianBlur(image, (3, 3), 0)


def _sea(width: int, height: int) -> np.ndarray:
    x, y = _grid(width, height)
    waves = 0.5 + 0.5 * np.sin(y * 40.0 + np.sin(x * 7.0) * 2.5)
    image = _mix((120, 60, 10), (230, 200, 150), waves * (0.3 + 0.7 * y)).astype(np.uint8)
    sky = np.broadcast_to(y < 0.3, (height, width))
    image[sky] = _mix((245, 235, 220), (220, 190, 150), np.broadcast_to(y, (height, width)))[sky]
    hull = np.array([[0.30, 0.42], [0.52, 0.42], [0.48, 0.48], [0.34, 0.48]]) * [width, height]
    cv2.fillConvexPoly(image, hull.astype(np.int32), (30, 40, 60), cv2.LINE_AA)
    sail = np.array([[0.41, 0.20], [0.41, 0.41], [0.50, 0.41]]) * [width, height]
    cv2.fillConvexPoly(image, sail.astype(np.int32), (235, 245, 250), cv2.LINE_AA)
    return image


def _composition(width: int, height: int) -> np.ndarray:
    image = np.full((height, width, 3), (200, 232, 242), np.uint8)
    rng = np.random.default_rng(8)
    palette = [(40, 40, 200), (200, 120, 30), (30, 180, 240), (30, 30, 30), (120, 60, 150)]
    for _ in range(9):
        start = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        end = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        cv2.line(image, start, end, (40, 40, 40), int(rng.integers(2, 7)), cv2.LINE_AA)
    for index in range(7):
        centre = (int(rng.uniform(0.1, 0.9) * width), int(rng.uniform(0.1, 0.9) * height))
        radius = int(rng.uniform(0.04, 0.16) * height)
        cv2.circle(image, centre, radius, palette[index % len(palette)], -1, cv2.LINE_AA)
        cv2.circle(image, centre, radius, (20, 20, 20), 3, cv2.LINE_AA)
    return image


def _night(width: int, height: int) -> np.ndarray:
    x, y = _grid(width, height)
    swirl = 0.5 + 0.5 * np.sin(12.0 * np.hypot(x - 0.35, y - 0.3) - 4.0 * x)
    image = _mix((70, 25, 10), (170, 110, 40), swirl * (1.0 - 0.6 * y)).astype(np.uint8)
    rng = np.random.default_rng(3)
    for _ in range(14):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, 0.6) * height))
        cv2.circle(image, centre, int(rng.uniform(3, 10)), (120, 235, 250), -1, cv2.LINE_AA)
    cv2.circle(image, (int(0.8 * width), int(0.18 * height)), int(0.08 * height),
               (140, 230, 250), -1, cv2.LINE_AA)
    tree = np.array([[0.12, 1.0], [0.18, 0.25], [0.24, 1.0]]) * [width, height]
    cv2.fillConvexPoly(image, tree.astype(np.int32), (20, 40, 20), cv2.LINE_AA)
    return image
