"""Type checks of what callers hand the engine: a wrong type is an `EngineError` in one sentence
that says what to pass instead, never a raw TypeError from deep inside numpy, unicodedata or a
generator that only fails later in the audio thread (``compose(b"...")``, a seed as text)."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numpy as np

from engine.errors import EngineError


def _kind(value: object) -> str:
    return type(value).__name__


def check_painting(painting: object, what: str = "painting") -> None:
    """A painting is an RGB frame (numpy H×W×3 uint8); shape and dtype are checked later by
    ``preprocess.as_rgb_uint8``. A `Reading` is accepted by the callers that take one."""
    from engine.reading import Reading

    if isinstance(painting, (np.ndarray, Reading)):
        return
    if isinstance(painting, (bytes, bytearray, memoryview)):
        raise EngineError(f"the {what} must be decoded pixels (a numpy H×W×3 uint8 RGB array), "
                          f"not {_kind(painting)}: decode the file first, e.g. cv2.cvtColor("
                          "cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), "
                          "cv2.COLOR_BGR2RGB).")
    if isinstance(painting, (str, os.PathLike)):
        raise EngineError(f"the {what} must be decoded pixels (a numpy H×W×3 uint8 RGB array), "
                          f"not a file name ({painting!s:.60}): read the picture first, e.g. "
                          "cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB).")
    raise EngineError(f"the {what} must be a numpy H×W×3 uint8 RGB array or an Engine.describe "
                      f"reading, not {_kind(painting)}.")


def check_text(text: object, what: str = "comment") -> str:
    """Free text (a comment, a prompt) must be a str; returns it."""
    if not isinstance(text, str):
        hint = " (decode it with .decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else ""
        raise EngineError(f"the {what} must be text (str), not {_kind(text)}{hint}.")
    return text


def check_feelings(feelings: object) -> None:
    """Chosen feelings: None, or a list/tuple of labels (str)."""
    if feelings is None:
        return
    if isinstance(feelings, (str, bytes)) or not isinstance(feelings, Sequence):
        raise EngineError(f"feelings must be a list of labels such as ['awe'], not "
                          f"{_kind(feelings)}.")
    for label in feelings:
        if not isinstance(label, str):
            raise EngineError(f"each feeling must be a label (str) such as 'awe', not "
                              f"{_kind(label)}.")


def check_whole(value: object, what: str, minimum: int) -> None:
    """A whole number ≥ `minimum` (numpy integers count; True/False do not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise EngineError(f"{what} must be a whole number, not {_kind(value)}.")
    if value < minimum:
        raise EngineError(f"{what} must be {minimum} or more, not {value}.")


def check_level(target_dbfs: object) -> None:
    """A loudness target: None (no normalisation) or a finite number of dBFS."""
    if target_dbfs is None:
        return
    if (isinstance(target_dbfs, bool) or not isinstance(target_dbfs, numbers.Real)
            or not math.isfinite(float(target_dbfs))):
        raise EngineError(f"target_dbfs must be a finite number of dBFS such as -20 (or None "
                          f"to keep the vocoder's level), not {target_dbfs!r:.40}.")


def check_compose_args(painting: object, comment: object, feelings: object,
                       chunk_frames: object, target_dbfs: object, seed: object) -> None:
    """Every argument of `Engine.compose`, before any graph runs."""
    check_painting(painting)
    check_text(comment, "comment")
    check_feelings(feelings)
    check_whole(chunk_frames, "chunk_frames", 1)
    check_level(target_dbfs)
    if seed is not None:
        check_whole(seed, "seed", 0)
