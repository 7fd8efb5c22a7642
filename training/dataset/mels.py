"""Cached decoder targets: one normalised log-Mel per matched clip (Sec. III.A.5).

``<dataset>/mels/<audio_id>.npy`` holds float16 [n_mels, frames] in [-1, 1] from
:func:`core.mel.audio_file_to_mel`. Files are written atomically (temp file + ``os.replace``),
so an existing file is complete and a rerun skips it: the build is resumable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import audio_file_to_mel
from training.dataset.corpus import MusicRecord
from training.dataset.errors import DatasetError

MEL_DIR = "mels"


@dataclass
class MelStats:
    """How many Mel files a run computed and how many it found already written."""

    computed: int = 0
    skipped: int = 0


def mel_relpath(audio_id: str) -> str:
    """Manifest path of a clip's Mel, relative to the dataset folder."""
    return f"{MEL_DIR}/{audio_id}.npy"


def save_atomic(path: Path, array: np.ndarray) -> None:
    """Writes an .npy file via a temp file in the same folder and ``os.replace``."""
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("wb") as handle:
        np.save(handle, array)
    os.replace(temp, path)


def ensure_mels(
    clips: Sequence[MusicRecord],
    dataset_dir: Path,
    audio: AudioConfig = DEFAULT_AUDIO,
    norm: MelNormalization = DEFAULT_MEL_NORM,
    progress: bool = False,
    mel_fn: Callable[..., np.ndarray] = audio_file_to_mel,
) -> MelStats:
    """Computes the Mel of every clip whose file is not there yet; each clip at most once."""
    folder = dataset_dir / MEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):
        stale.unlink()
    stats = MelStats()
    unique = {clip.audio_id: clip for clip in clips}
    for clip in tqdm(unique.values(), desc="Mel spectrograms", unit="clip",
                     disable=not progress):
        path = dataset_dir / mel_relpath(clip.audio_id)
        if path.is_file():
            stats.skipped += 1
            continue
        try:
            mel = mel_fn(clip.audio_path, audio, norm, offset=clip.offset)
        except Exception as exc:  # decoding errors come from several libraries
            raise DatasetError(
                f"could not compute the Mel of {clip.audio_path} at {clip.offset:g} s (music line "
                f"{clip.line}): {exc}; fix or remove that line and rerun (finished Mels are kept)."
            ) from exc
        expected = (audio.n_mels, audio.frames)
        if mel.shape != expected or not np.isfinite(mel).all():
            raise DatasetError(
                f"the Mel of {clip.audio_path} has shape {mel.shape} or non-finite values, "
                f"expected finite {expected}; check the audio file (music line {clip.line})."
            )
        save_atomic(path, np.clip(mel, -1.0, 1.0).astype(np.float16))
        stats.computed += 1
    return stats
