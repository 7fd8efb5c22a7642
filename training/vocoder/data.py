"""Training segments for HiFi-GAN fine-tuning (Kong et al., 2020, Sec. 4; Art2Music Sec. IV.A).

Clips come from a data set directory in the CONTRACTS.md layout (``manifest.jsonl`` rows with
``audio_id``, ``audio_path``, ``audio_offset``, ``split``); each unique ``audio_id`` is one clip
of ``AudioConfig.frames`` Mel frames read with :func:`core.mel.load_audio`. A training item is a
random segment of ``segment_size`` samples and its input Mel, which is either

- the real log-Mel of the segment (:func:`core.mel.log_mel`), or
- a slice of a decoder-predicted Mel of the same clip (the paper fine-tunes on both), aligned
  frame-for-frame with the audio: predicted files are ``<predicted_dir>/<row id>.npy`` or
  ``<predicted_dir>/<audio_id>.npy``, shape [n_mels, T], normalised to [-1, 1] like the
  data set's ``mels/`` (``domain="normalized"``) or natural-log Mels (``domain="log"``).

Sampling is a pure function of (seed, step), so a resumed run sees exactly the batches an
uninterrupted run would have seen.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import denormalize, load_audio, log_mel

PREDICTED_DOMAINS = ("normalized", "log")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
DATASET_MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Clip:
    """One unique audio clip of the data set and the decoder-predicted Mels made for it."""

    audio_id: str
    audio_path: Path
    offset: float
    predicted: tuple[Path, ...] = ()


def read_clips(dataset_dir: str | Path, splits: Sequence[str] = ("train",),
               predicted_dir: str | Path | None = None) -> list[Clip]:
    """Unique clips (by ``audio_id``, manifest order) of the rows whose split is in ``splits``."""
    dataset_dir = Path(dataset_dir)
    manifest = dataset_dir / "manifest.jsonl"
    if not manifest.is_file():
        raise FileNotFoundError(f"No manifest.jsonl in {dataset_dir}; build the data set first "
                                f"(main.py build-dataset) or pass the right --dataset.")
    predicted_dir = Path(predicted_dir) if predicted_dir else None
    if predicted_dir is not None and not predicted_dir.is_dir():
        raise FileNotFoundError(f"Predicted-Mel directory {predicted_dir} does not exist.")
    clips: dict[str, dict] = {}
    with manifest.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("split", "train") not in splits:
                continue
            try:
                audio_id, audio_path = str(row["audio_id"]), Path(row["audio_path"])
            except KeyError as err:
                raise ValueError(f"{manifest} line {line_no} lacks the field {err}.") from None
            entry = clips.setdefault(audio_id, {
                "audio_path": audio_path if audio_path.is_absolute() else dataset_dir / audio_path,
                "offset": float(row.get("audio_offset", 0.0)), "predicted": []})
            if predicted_dir is not None:
                for stem in (str(row.get("id", "")), audio_id):
                    candidate = predicted_dir / f"{stem}.npy"
                    if stem and candidate.is_file() and candidate not in entry["predicted"]:
                        entry["predicted"].append(candidate)
    if not clips:
        raise ValueError(f"{manifest} has no rows in split(s) {', '.join(splits)}.")
    return [Clip(audio_id=k, audio_path=v["audio_path"], offset=v["offset"],
                 predicted=tuple(v["predicted"])) for k, v in clips.items()]


class SegmentDataset(torch.utils.data.Dataset):
    """Map-style data set indexed by ``(clip_index, item_seed)`` keys from :class:`StepSampler`.

    An item is ``(input_log_mel [n_mels, segment_size // hop], audio [segment_size], flag)``
    where flag is 1.0 for a decoder-predicted input Mel and 0.0 for a real one.
    """

    def __init__(self, clips: Sequence[Clip], segment_size: int,
                 audio: AudioConfig = DEFAULT_AUDIO, mel_norm: MelNormalization = DEFAULT_MEL_NORM,
                 predicted_fraction: float = 0.0, predicted_domain: str = "normalized",
                 cache_clips: int = 64) -> None:
        if segment_size % audio.hop_length:
            raise ValueError(f"Segment size {segment_size} must be a multiple of the hop "
                             f"length {audio.hop_length}.")
        if predicted_domain not in PREDICTED_DOMAINS:
            raise ValueError(f"Predicted-Mel domain {predicted_domain!r} must be one of "
                             f"{', '.join(PREDICTED_DOMAINS)}.")
        self.clips = list(clips)
        self.segment_size = segment_size
        self.audio = audio
        self.mel_norm = mel_norm
        self.predicted_fraction = predicted_fraction
        self.predicted_domain = predicted_domain
        self.cache_clips = cache_clips
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.clips)

    def clip_audio(self, index: int) -> np.ndarray:
        """The clip's ``frames × hop`` samples (zero-padded if the file ends early), LRU-cached."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        clip = self.clips[index]
        if not clip.audio_path.is_file():
            raise FileNotFoundError(f"Audio file {clip.audio_path} of clip {clip.audio_id!r} "
                                    f"is missing.")
        samples = load_audio(clip.audio_path, self.audio, offset=clip.offset,
                             duration=self.audio.clip_seconds)[: self.audio.clip_samples]
        if self.cache_clips > 0:
            self._cache[index] = samples
            while len(self._cache) > self.cache_clips:
                self._cache.popitem(last=False)
        return samples

    def _predicted_mel(self, path: Path) -> np.ndarray:
        mel = np.load(path).astype(np.float32)
        if mel.ndim != 2 or mel.shape[0] != self.audio.n_mels:
            raise ValueError(f"Predicted Mel {path} has shape {mel.shape}; expected "
                             f"[{self.audio.n_mels}, T].")
        return denormalize(mel, self.mel_norm) if self.predicted_domain == "normalized" else mel

    def __getitem__(self, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
        index, item_seed = key
        rng = np.random.default_rng(int(item_seed))
        clip, hop, size = self.clips[index], self.audio.hop_length, self.segment_size
        frames = size // hop
        samples = self.clip_audio(index)
        use_predicted = bool(clip.predicted) and rng.random() < self.predicted_fraction
        if use_predicted:
            mel = self._predicted_mel(clip.predicted[int(rng.integers(len(clip.predicted)))])
            usable = min(mel.shape[1], -(-samples.size // hop))  # frames that have audio
            start = int(rng.integers(0, max(1, usable - frames + 1)))
            mel = mel[:, start:start + frames]
            if mel.shape[1] < frames:
                floor = np.log(self.audio.log_floor)
                mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[1])), constant_values=floor)
            segment = samples[start * hop:start * hop + size]
        else:
            start = int(rng.integers(0, max(1, samples.size - size + 1)))
            segment = samples[start:start + size]
        segment = np.pad(segment, (0, size - segment.size)).astype(np.float32)
        if not use_predicted:
            mel = log_mel(segment, self.audio)
        return mel.astype(np.float32), segment, float(use_predicted)


class StepSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Batches of ``(clip_index, item_seed)`` for global steps ``start_step ≤ s < end_step``.

    Epoch e visits the clips in the permutation drawn from ``(seed, e)`` (clips are repeated
    when there are fewer than a batch); step s is batch ``s mod steps_per_epoch`` of epoch
    ``s // steps_per_epoch``. Incomplete trailing batches are dropped, as in the official code.
    """

    def __init__(self, num_clips: int, batch_size: int, seed: int, start_step: int,
                 end_step: int) -> None:
        self.num_clips, self.batch_size, self.seed = num_clips, batch_size, seed
        self.start_step, self.end_step = start_step, end_step

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.num_clips // self.batch_size)

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def batch(self, step: int) -> list[tuple[int, int]]:
        epoch, position = divmod(step, self.steps_per_epoch)
        rng = np.random.default_rng([self.seed, epoch])
        repeats = -(-self.batch_size // self.num_clips)
        order = np.concatenate([rng.permutation(self.num_clips) for _ in range(repeats)])
        chosen = order[position * self.batch_size:(position + 1) * self.batch_size]
        seeds = np.random.SeedSequence([self.seed, step]).generate_state(len(chosen))
        return [(int(c), int(s)) for c, s in zip(chosen, seeds, strict=True)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.end_step):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)


def music_log_mels(source: Path, audio: AudioConfig, norm: MelNormalization,
                     split: str | None = "train") -> list[np.ndarray]:
    """Natural-log Mels [n_mels, T]: a data set's ``mels/*.npy`` (normalised, as written by
    build-dataset; only its `split` clips when it has a manifest.jsonl and `split` is set), a
    folder of ``.npy`` Mels of that kind, or a folder of audio files."""
    source = Path(source)
    folder = source / "mels" if (source / "mels").is_dir() else source
    if not folder.is_dir():
        raise ValueError(f"music source {source} is not a folder; pass a data set "
                         "directory (mels/*.npy) or a folder of music files.")
    files = sorted(folder.glob("*.npy"))
    if (source / DATASET_MANIFEST).is_file() and split:
        wanted = set()
        for line in (source / DATASET_MANIFEST).read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("split") == split and row.get("mel_path"):
                wanted.add((source / row["mel_path"]).resolve())
        files = [p for p in files if p.resolve() in wanted]
    mels = [denormalize(np.load(p).astype(np.float32), norm) for p in files]
    if not mels:
        mels = [log_mel(load_audio(p, audio), audio) for p in sorted(folder.rglob("*"))
                if p.suffix.lower() in AUDIO_SUFFIXES]
    mels = [m for m in mels if m.ndim == 2 and m.shape[0] == audio.n_mels and m.shape[1] > 0]
    if len(mels) < 2:
        raise ValueError(f"music source {source} holds {len(mels)} usable Mels "
                         f"({audio.n_mels} bands); at least 2 real music clips are needed "
                         "(a data set's mels/ or a folder of audio files).")
    return mels
