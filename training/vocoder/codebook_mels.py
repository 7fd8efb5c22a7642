"""The Mels a token-decoder bundle hands its vocoder, made from real clips for fine-tuning.

    python -m training.vocoder.codebook_mels --bundle assets/bundle --dataset data/dataset-topk \\
        --out runs/codebook-mels

The token decoder never plays a Mel frame of its own: every frame is a sum of its residual
codebook vectors (README, "The bundled default model"). So the vocoder's input in the kiosk is
a quantised Mel, and HiFi-GAN's fine-tuning on "predicted" Mels (Art2Music Sec. IV.A; Kong et
al., 2020, Sec. 4.4: ground-truth audio paired with the acoustic model's own Mels) takes, for
the token decoder, each clip's Mel encoded greedily through the bundle's codebooks and decoded
again (:func:`training.evaluation.vocoder_floor.through_codebook`). The audio stays the clip's
own, so the pair is frame-aligned, and ``main.py train-vocoder --predicted-mels DIR`` reads the
files as it reads any decoder prediction: ``<audio_id>.npy``, [n_mels, frames], normalised to
[-1, 1], float16.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import fix_length, load_audio, log_mel, normalize
from training.evaluation.vocoder_floor import bundle_codebook, through_codebook
from training.vocoder.data import Clip, read_clips


def load_codebook(bundle: Path | None = None, codebook: Path | None = None) -> np.ndarray:
    """Residual codebooks [stages, size, n_mels]: a bundle's step graph, or a saved ``.npy``."""
    if (bundle is None) == (codebook is None):
        raise ValueError("Name exactly one of --bundle (a token-decoder bundle) or --codebook "
                         "(a .npy of [stages, size, n_mels]).")
    books = bundle_codebook(bundle) if bundle is not None else np.load(codebook)
    if books is None:
        raise ValueError(f"{bundle} has no token decoder step graph (decoder_step.onnx) to read "
                         "codebooks from; it plays the paper's BiLSTM Mel, use "
                         "training.vocoder.predict instead.")
    books = np.asarray(books, dtype=np.float64)
    if books.ndim != 3:
        raise ValueError(f"codebooks must be [stages, size, n_mels]; got shape {books.shape}.")
    return books


def write_codebook_mel(clip: Clip, books: np.ndarray, out: Path,
                       audio: AudioConfig = DEFAULT_AUDIO,
                       norm: MelNormalization = DEFAULT_MEL_NORM) -> Path:
    """One clip's quantised Mel at ``out/<audio_id>.npy`` (written atomically; kept if there)."""
    target = out / f"{clip.audio_id}.npy"
    if not target.is_file():
        samples = load_audio(clip.audio_path, audio, offset=clip.offset,
                             duration=audio.clip_seconds)[: audio.clip_samples]
        mel = fix_length(normalize(log_mel(samples, audio), norm), audio.frames)
        partial_file = target.with_suffix(".tmp.npy")
        np.save(partial_file, through_codebook(mel, books).astype(np.float16))
        partial_file.replace(target)
    return target


def write_codebook_mels(dataset: Path, books: np.ndarray, out: Path,
                        splits: Sequence[str] = ("train",), audio: AudioConfig = DEFAULT_AUDIO,
                        norm: MelNormalization = DEFAULT_MEL_NORM, progress: bool = True,
                        workers: int = 1) -> list[Path]:
    """Writes one quantised Mel per unique clip of ``splits``, over ``workers`` processes;
    returns the files (existing files are kept, so an interrupted run continues)."""
    if books.shape[2] != audio.n_mels:
        raise ValueError(f"the codebooks hold {books.shape[2]}-band vectors; the Mel has "
                         f"{audio.n_mels} bands.")
    out.mkdir(parents=True, exist_ok=True)
    clips = read_clips(dataset, splits)
    one = partial(write_codebook_mel, books=books, out=out, audio=audio, norm=norm)
    bar = dict(total=len(clips), desc="codebook Mels", unit="clip", disable=not progress)
    if workers <= 1:
        return [one(clip) for clip in tqdm(clips, **bar)]
    with ProcessPoolExecutor(workers) as pool:
        return list(tqdm(pool.map(one, clips, chunksize=4), **bar))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.vocoder.codebook_mels",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="a token-decoder bundle (its codebooks)")
    parser.add_argument("--codebook", type=Path, help="or a .npy of [stages, size, n_mels]")
    parser.add_argument("--dataset", type=Path, required=True,
                        help="a data set folder (manifest.jsonl with audio_path, audio_id)")
    parser.add_argument("--out", type=Path, required=True, help="folder for <audio_id>.npy")
    parser.add_argument("--splits", default="train", help="comma-separated (default: train)")
    parser.add_argument("--save-codebook", type=Path,
                        help="also write the codebooks read from --bundle to this .npy")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes that encode clips side by side (default: 1)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        books = load_codebook(args.bundle, args.codebook)
        if args.save_codebook:
            np.save(args.save_codebook, books.astype(np.float32))
        files = write_codebook_mels(args.dataset, books, args.out,
                                    tuple(s for s in args.splits.split(",") if s),
                                    progress=not args.no_progress, workers=args.workers)
    except (FileNotFoundError, ValueError) as err:
        print(f"codebook_mels: {err}", file=sys.stderr)
        return 2
    print(f"codebook_mels: {len(files)} quantised Mels in {args.out} "
          f"({books.shape[0]} stages × {books.shape[1]} codes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
