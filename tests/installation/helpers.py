"""Kiosk test helpers: synthetic gallery frames written as real video files, a Qt wait loop, and
a small fake engine for the unit tests of UI and audio pieces (end-to-end tests use
engine.Engine)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from core.audio_config import DEFAULT_AUDIO
from core.loudness import normalising_gain
from core.prompt import ARTEMIS_EMOTIONS, build_prompt
from engine import Piece, Reading, art_commentary, prompt_feelings
from engine.commentary import Commentary

FRAME_SIZE = (640, 360)
"""Width, height of the synthetic camera frames."""


def stop_worker(worker) -> None:
    """Stops a CameraWorker, then drops its signals' connections and flushes what is still
    queued for them: a queued preview delivered during a later test would call into a worker
    that is gone (a segfault in the full suite)."""
    import contextlib

    worker.stop()
    for signal in (worker.preview_ready, worker.painting_triggered, worker.status_changed,
                   worker.visitor_left):
        with contextlib.suppress(TypeError):  # TypeError: it had no connection
            signal.disconnect()
    wait_until(lambda: False, timeout=0.1)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Processes Qt events until ``predicate()`` holds or ``timeout`` seconds pass."""
    from PyQt6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = QApplication.instance()
        if app is not None:
            app.processEvents()
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# ---------------------------------------------------------------------------- synthetic frames
def artwork(seed: int, size: tuple[int, int] = (300, 220)) -> np.ndarray:
    """A colourful BGR test "painting", distinct for each seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(40, 220, size=3)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = base
    for _ in range(8):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, centre, int(rng.integers(15, 60)), colour, -1)
    for _ in range(4):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.rectangle(image, p1, p2, colour, -1)
    return image


def wall(size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A bare, evenly lit wall (a smooth gradient, no detail)."""
    width, height = size
    ramp = np.linspace(170, 200, width, dtype=np.float32)[None, :, None]
    return np.broadcast_to(ramp, (height, width, 3)).astype(np.uint8).copy()


DEFAULT_QUAD = np.array([[180, 70], [470, 85], [460, 300], [170, 290]], dtype=np.float32)


def hang(background: np.ndarray, art: np.ndarray, quad: np.ndarray = DEFAULT_QUAD,
         frame_px: int = 8) -> np.ndarray:
    """``art`` warped into ``quad`` on ``background``, with a dark frame around it."""
    frame = background.copy()
    centre = quad.mean(axis=0)
    outer = centre + (quad - centre) * (1 + frame_px / np.linalg.norm(quad - centre, axis=1,
                                                                       keepdims=True))
    cv2.fillConvexPoly(frame, outer.astype(np.int32), (30, 30, 40), cv2.LINE_AA)
    height, width = art.shape[:2]
    source = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      np.float32)
    matrix = cv2.getPerspectiveTransform(source, quad.astype(np.float32))
    warped = cv2.warpPerspective(art, matrix, (frame.shape[1], frame.shape[0]))
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, quad.astype(np.int32), 255)
    frame[mask > 0] = warped[mask > 0]
    return frame


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10.0,
                fourcc: str = "MJPG") -> Path:
    """Writes BGR frames with cv2.VideoWriter (MJPG/.avi, mp4v/.mp4 or FFV1/.mkv)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"cv2 cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def visit_frames(fps: float, seconds: Sequence[tuple[str, float]], arts: dict[str, np.ndarray]
                 ) -> list[np.ndarray]:
    """Frames of a visit: ("wall", s) a bare wall, ("A", s) painting A held still, ("move", s)
    a painting sliding across the view."""
    frames: list[np.ndarray] = []
    background = wall()
    for what, duration in seconds:
        count = round(duration * fps)
        for index in range(count):
            if what == "wall":
                frames.append(background.copy())
            elif what == "move":
                shift = np.array([[-250 + 500 * index / max(count - 1, 1), 0]], np.float32)
                frames.append(hang(background, arts["A"], DEFAULT_QUAD + shift))
            else:
                frames.append(hang(background, arts[what]))
    return frames


# ---------------------------------------------------------------------------- fake engine
class FakeEngine:
    """The engine API of docs/CONTRACTS.md, computed from simple statistics; for unit tests of
    kiosk pieces only. Its audio is a tone whose pitch follows the painting's brightness."""

    audio = DEFAULT_AUDIO
    samples = False
    """Deterministic, like the paper's decoder: the same request gives the same piece."""

    def __init__(self, chunk_frames: int = 64, delay_s: float = 0.0, commentary: str = "") -> None:
        self.chunk_frames = chunk_frames
        self.delay_s = delay_s
        self.commentary = commentary
        self.calls: list[str] = []
        self.prompts: list[str] = []

    def describe(self, rgb: np.ndarray) -> Reading:
        """Like Engine.describe: the image embedding, all feelings ranked, the commentary."""
        image = self.encode_image(rgb)
        feelings = tuple(self.feelings(image, top_k=len(ARTEMIS_EMOTIONS)))
        return Reading(image, feelings, Commentary(text=self.commentary))

    def compose(self, painting: np.ndarray | Reading, comment: str = "",
                feelings: Sequence[str] | None = None, *, chunk_frames: int | None = None,
                target_dbfs: float | None = -20.0, seed: int | None = None) -> Piece:
        """Like Engine.compose, with the engine's own rules for feelings and commentary."""
        reading = painting if isinstance(painting, Reading) else self.describe(painting)
        labels = prompt_feelings(reading.feelings, feelings)
        prompt = self.build_prompt(art_commentary(comment, reading.text), labels)
        text = self.encode_text(prompt)
        log_mel = self.generate_mel(reading.image_embedding, text)
        gain = 1.0 if target_dbfs is None else normalising_gain(log_mel, self.audio, target_dbfs)
        return Piece(prompt, labels, reading.image_embedding, text, log_mel,
                     self.audio.sample_rate, self.audio.hop_length,
                     lambda mel: self.vocode_stream(mel, chunk_frames), gain=float(gain),
                     reading=reading)

    def encode_image(self, rgb: np.ndarray) -> np.ndarray:
        self.calls.append("encode_image")
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        mean = rgb.reshape(-1, 3).mean(axis=0) / 255.0
        return np.concatenate([mean, [1.0]]).astype(np.float32)

    def feelings(self, image_embedding: np.ndarray, top_k: int = 5) -> list[tuple[str, float]]:
        self.calls.append("feelings")
        start = int(image_embedding[0] * 10) % len(ARTEMIS_EMOTIONS)
        names = [ARTEMIS_EMOTIONS[(start + i) % len(ARTEMIS_EMOTIONS)] for i in range(top_k)]
        return [(name, 1.0 / (i + 2)) for i, name in enumerate(names)]

    def build_prompt(self, comment: str, feelings: Sequence[str]) -> str:
        self.calls.append("build_prompt")
        prompt = build_prompt(comment, feelings, ["Music"], ["calm"])
        self.prompts.append(prompt)
        return prompt

    def encode_text(self, prompt: str) -> np.ndarray:
        self.calls.append("encode_text")
        return np.array([len(prompt) % 97 / 97.0], np.float32)

    def generate_mel(self, image_embedding: np.ndarray, text_embedding: np.ndarray) -> np.ndarray:
        self.calls.append("generate_mel")
        time.sleep(self.delay_s)
        mel = np.full((self.audio.n_mels, self.audio.frames), np.log(1e-3), np.float32)
        band = 10 + int(image_embedding[0] * 40)
        mel[band:band + 3] = 0.5
        return mel

    def vocode_stream(self, log_mel: np.ndarray, chunk_frames: int | None = None
                      ) -> Iterator[np.ndarray]:
        self.calls.append("vocode_stream")
        chunk = (chunk_frames or self.chunk_frames) * self.audio.hop_length
        total = log_mel.shape[1] * self.audio.hop_length
        t = np.arange(total) / self.audio.sample_rate
        tone = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
        for start in range(0, total, chunk):
            yield tone[start:start + chunk]
