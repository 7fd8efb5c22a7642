"""Where frames come from: a camera, a looping video file, an image folder, or the demo wall.

Sources are plain Python (no Qt). ``read`` returns the next BGR frame with its timestamp and
raises ``SourceError`` when the source is gone; the camera thread then retries ``open``.
File-based sources carry media time (frame index / fps), so the vision pipeline behaves the
same whether frames are paced in real time or read as fast as possible (tests).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from installation.pictures import MAX_SIDE as MAX_PICTURE_SIDE
from installation.pictures import PictureError, describe_size, load_picture

log = logging.getLogger(__name__)

DEMO_SOURCE = "demo"
"""Camera source name of the simulated gallery wall (``DemoWallSource``)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class SourceError(RuntimeError):
    """The frame source cannot be opened or has stopped delivering frames."""


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    """BGR uint8 [H, W, 3]."""
    timestamp: float
    """Seconds; media time for files, monotonic clock for live cameras."""


class FrameSource(Protocol):
    description: str
    frame_interval: float | None
    """Seconds between frames for sources that must be paced by the reader; None for cameras."""

    def open(self) -> None: ...

    def read(self) -> Frame: ...

    def close(self) -> None: ...

    # Optional: ``skip()`` moves past one frame without decoding or drawing it; the camera
    # thread uses it while music is generated (CameraConfig.busy_fps), else it reads.


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is None:
        yield
        return
    previous = logging_api.getLogLevel()
    logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        logging_api.setLogLevel(previous)


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


class DeviceSource:
    """A live camera by index."""

    def __init__(self, index: int, width: int = 1280, height: int = 720, fps: float = 30.0):
        self.index, self.width, self.height, self.fps = index, width, height, fps
        self.description = f"camera {index}"
        self.frame_interval = None
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        self.close()
        with _quiet_opencv():  # its own warnings would repeat at every retry
            capture = cv2.VideoCapture(self.index)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"No camera answers at device {self.index}.")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._capture = capture

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError(f"The {self.description} is not open.")
        ok, image = self._capture.read()
        if not ok or image is None:
            raise SourceError(f"The {self.description} stopped sending pictures.")
        return Frame(image, time.monotonic())

    def skip(self) -> None:
        """Takes the next frame off the camera without decoding it (a busy kiosk)."""
        if self._capture is None or not self._capture.grab():
            raise SourceError(f"The {self.description} stopped sending pictures.")

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSource:
    """A video file played in a loop; it is reopened at each loop, so a deleted or replaced
    file is noticed."""

    def __init__(self, path: str | Path, loop: bool = True):
        self.path = Path(path)
        self.loop = loop
        self.description = f"video {self.path.name}"
        self.frame_interval: float | None = 1 / 30
        self._capture: cv2.VideoCapture | None = None
        self._frames_this_loop = 0
        self._frame_count = 0  # over all loops: media time keeps growing

    def open(self) -> None:
        self.close()
        if not self.path.is_file():
            raise SourceError(f"The video file {self.path} does not exist.")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"The video file {self.path} cannot be read.")
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.frame_interval = 1.0 / fps if 1.0 <= fps <= 240.0 else 1 / 30
        self._capture = capture
        self._frames_this_loop = 0

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError(f"The {self.description} is not open.")
        ok, image = self._capture.read()
        if not ok or image is None:
            if not (self.loop and self._frames_this_loop > 0):
                raise SourceError(f"The video file {self.path} cannot be read.")
            self.open()  # loop: raises SourceError when the file has gone
            ok, image = self._capture.read()
            if not ok or image is None:
                raise SourceError(f"The video file {self.path} cannot be read.")
        self._frames_this_loop += 1
        self._frame_count += 1
        return Frame(image, self._frame_count * (self.frame_interval or 0.0))

    def skip(self) -> None:
        """Moves past the next frame without converting it (a busy kiosk); loops as `read`."""
        if self._capture is None:
            raise SourceError(f"The {self.description} is not open.")
        if not self._capture.grab():
            self.read()  # the end of the file: `read` loops or says what is wrong
            return
        self._frames_this_loop += 1
        self._frame_count += 1

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageFolderSource:
    """A slideshow: each picture of a folder stays in view ``image_seconds``, then the next.

    The pictures are decoded once, when the source opens (installation/pictures.py), at most
    ``max_side`` px on their longest side; a frame is then only a reference to one of them. A
    file that cannot be used (empty, not a picture, truncated, too large to decode) is left
    out with one log line naming it and why; it is named again only if it changes. So a bad
    file neither stops the slideshow nor makes the camera flap between live and lost.
    """

    def __init__(self, folder: str | Path, image_seconds: float = 6.0, fps: float = 10.0,
                 max_side: int = MAX_PICTURE_SIDE):
        self.folder = Path(folder)
        self.image_seconds = image_seconds
        self.max_side = max_side
        self.description = f"images in {self.folder.name}"
        self.frame_interval = 1.0 / fps
        self._images: list[np.ndarray] = []
        self._decoded: dict[Path, tuple[tuple[int, int], np.ndarray | None]] = {}
        """Each file's (size, mtime) when decoded, and its picture (None: refused)."""
        self._count = 0

    @property
    def pictures(self) -> int:
        """How many pictures the slideshow shows (after the last ``open``)."""
        return len(self._images)

    def open(self) -> None:
        paths = list_images(self.folder)
        if not paths:
            self._images = []
            raise SourceError(f"The folder {self.folder} holds no pictures.")
        self._decoded = {path: self._decode(path) for path in paths}
        self._images = [image for _, image in self._decoded.values() if image is not None]
        if not self._images:
            raise SourceError(f"None of the {len(paths)} files in {self.folder} is a readable "
                              "picture (each is named in the log).")

    def _decode(self, path: Path) -> tuple[tuple[int, int], np.ndarray | None]:
        try:
            stat = path.stat()
            key = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            key = (-1, -1)
        known = self._decoded.get(path)
        if known is not None and known[0] == key:
            return known
        try:
            picture = load_picture(path, self.max_side)
        except PictureError as error:
            log.warning("%s", error)
            return key, None
        if picture.large:
            log.warning("The picture %s is %s: decoded once at %d×%d px; a copy at most %d px "
                        "on its longest side would load faster.", path,
                        describe_size(picture.original_size), picture.image.shape[1],
                        picture.image.shape[0], self.max_side)
        image = picture.image
        image.setflags(write=False)  # shared by every frame: nothing may draw on it
        return key, image

    def read(self) -> Frame:
        if not self._images:
            raise SourceError(f"The folder {self.folder} is not open.")
        timestamp = self._count * self.frame_interval
        per_image = max(1, round(self.image_seconds / self.frame_interval))
        image = self._images[(self._count // per_image) % len(self._images)]
        self._count += 1
        return Frame(image, timestamp)

    def close(self) -> None:
        self._images = []  # the decoded pictures stay, so a reopen decodes only changed files


class DemoWallSource:
    """A simulated gallery visit: each artwork is carried onto a wall, held still, then taken
    away, so the whole detect → steady → compose → play loop runs without a camera."""

    def __init__(self, artworks: Sequence[np.ndarray], size: tuple[int, int] = (1280, 720),
                 fps: float = 15.0, hold_seconds: float = 24.0, gap_seconds: float = 2.5,
                 move_seconds: float = 1.0):
        if not artworks:
            raise ValueError("DemoWallSource needs at least one artwork.")
        self.artworks = [np.ascontiguousarray(a) for a in artworks]  # BGR
        self.size = size
        self.description = f"demo wall ({len(self.artworks)} artworks)"
        self.frame_interval = 1.0 / fps
        self.hold_seconds, self.gap_seconds, self.move_seconds = (
            hold_seconds, gap_seconds, move_seconds)
        self._wall = _wall_texture(size)
        self._count = 0
        self._held: tuple[int, np.ndarray] | None = None
        """The last frame of an artwork held still: it is the same until the artwork moves."""
        longest = max(size)  # an artwork is drawn at most 62 % of the frame: no need for more
        self.artworks = [_fit(a, longest) for a in self.artworks]

    def open(self) -> None:
        self._count = 0

    def close(self) -> None:
        pass

    def read(self) -> Frame:
        t = self._count * self.frame_interval
        self._count += 1
        period = self.gap_seconds + self.move_seconds + self.hold_seconds
        index = int(t // period) % len(self.artworks)
        phase = t % period
        if phase < self.gap_seconds:
            return Frame(self._wall.copy(), t)
        progress = min(1.0, (phase - self.gap_seconds) / self.move_seconds)
        if progress >= 1.0 and self._held is not None and self._held[0] == index:
            return Frame(self._held[1].copy(), t)
        frame = self._wall.copy()
        _hang(frame, self.artworks[index], progress)
        if progress >= 1.0:
            self._held = (index, frame.copy())
        return Frame(frame, t)

    def skip(self) -> None:
        """Moves past the next frame without drawing it (a busy kiosk)."""
        self._count += 1


def _fit(image: np.ndarray, longest: int) -> np.ndarray:
    """`image` shrunk (INTER_AREA) so that its longest side is at most `longest` pixels."""
    scale = longest / max(image.shape[:2])
    if scale >= 1.0:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _wall_texture(size: tuple[int, int]) -> np.ndarray:
    width, height = size
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    light = 0.82 + 0.12 * np.exp(-((x - 0.5) ** 2 + (y - 0.35) ** 2) * 3.0)
    wall = np.stack([light * 196, light * 205, light * 214], axis=-1)  # warm off-white (BGR)
    return np.clip(wall, 0, 255).astype(np.uint8)


def _hang(frame: np.ndarray, artwork: np.ndarray, progress: float) -> None:
    """Draws ``artwork`` in a dark frame with a slight perspective; ``progress`` < 1 slides it
    in from the right (the visitor is still moving the camera)."""
    height, width = frame.shape[:2]
    art_h, art_w = artwork.shape[:2]
    box_h = 0.62 * height
    box_w = min(box_h * art_w / art_h, 0.62 * width)
    box_h = box_w * art_h / art_w
    cx = width / 2 + (1.0 - progress) * 0.7 * width
    cy = height * 0.47
    skew = 0.04 * box_h
    quad = np.array([[cx - box_w / 2, cy - box_h / 2 + skew],
                     [cx + box_w / 2, cy - box_h / 2],
                     [cx + box_w / 2, cy + box_h / 2],
                     [cx - box_w / 2, cy + box_h / 2 - skew]], dtype=np.float32)
    border = max(6.0, 0.035 * box_w)
    outer = quad + np.array([[-border, -border], [border, -border], [border, border],
                             [-border, border]], dtype=np.float32)
    cv2.fillConvexPoly(frame, (outer + [6, 8]).astype(np.int32), (120, 126, 132), cv2.LINE_AA)
    cv2.fillConvexPoly(frame, outer.astype(np.int32), (28, 36, 46), cv2.LINE_AA)
    source = np.array([[0, 0], [art_w - 1, 0], [art_w - 1, art_h - 1], [0, art_h - 1]],
                      dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, quad)
    warped = cv2.warpPerspective(artwork, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, quad.astype(np.int32), 255, cv2.LINE_AA)
    frame[mask > 0] = warped[mask > 0]


VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")


def source_from_spec(spec: str, width: int = 1280, height: int = 720, fps: float = 30.0,
                     image_seconds: float = 6.0) -> FrameSource:
    """``"0"`` → camera 0; a video path → looping video; a folder → image slideshow.

    A path that does not exist yet is still accepted (the camera thread retries until it
    appears): a known video suffix means a video file, anything else an image folder.
    """
    spec = spec.strip()
    if spec.isdigit():
        return DeviceSource(int(spec), width, height, fps)
    path = Path(spec).expanduser()
    if path.is_dir() or (not path.exists() and path.suffix.lower() not in VIDEO_SUFFIXES):
        return ImageFolderSource(path, image_seconds)
    return VideoFileSource(path)
