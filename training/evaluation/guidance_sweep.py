"""Sampling settings of a token-decoder run, compared on the kiosk's own inputs (Mel level).

For each artwork the kiosk path (a bundle's `Engine.compose`, no comment) gives the image and
prompt embeddings; the run's PyTorch decoder then samples pieces for every guidance scale ×
temperature setting and seed, and each setting is scored on the Mel alone (no vocoder, so a
sweep takes minutes): spectral flux, loudest-band change, the onset-autocorrelation peak of the
Mel's onset envelope (the beat) and painting-dependence (long-term spectrum between paintings /
between seeds of one painting). Real test clips of a data set give the same measures as a
yardstick. The table is printed and written as CSV.

    python -m training.evaluation.guidance_sweep --checkpoint runs/tokens-v2 \
        --bundle assets/bundle --paintings assets/artworks --data data/dataset \
        --guidance 1,2,3 --temperatures 1.1/0.8,1.0/0.8 --seeds 2 --out runs/sweep.csv
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import torch
from tqdm import tqdm

from core.audio_config import DEFAULT_AUDIO
from core.mel import denormalize
from training.evaluation.musicality import (
    band_change,
    describe,
    onset_autocorrelation_curve,
    painting_dependence,
    spectral_flux,
)


@dataclass(frozen=True)
class Setting:
    guidance: float
    temperatures: tuple[float, ...]
    repeat: tuple[float, ...] = ()
    """Repetition-prior strengths per stage (TokenMelDecoder.step); () for none."""
    repeat_beats: float = 1.0
    palette: float = 0.0
    """Palette-prior strength λ (a run with a palette head, training.palette_head); 0: none."""

    @property
    def label(self) -> str:
        label = f"g {self.guidance:g}, T {'/'.join(f'{t:g}' for t in self.temperatures)}"
        if self.repeat:
            label += (f", repeat {'/'.join(f'{k:g}' for k in self.repeat)} "
                      f"@ {self.repeat_beats:g} beats")
        if self.palette:
            label += f", palette {self.palette:g}"
        return label


def mel_beat(log_mel: np.ndarray) -> float:
    """Onset-autocorrelation peak (0.25-1.5 s lags) of the Mel's own onset envelope."""
    envelope = librosa.onset.onset_strength(S=log_mel, sr=DEFAULT_AUDIO.sample_rate,
                                            hop_length=DEFAULT_AUDIO.hop_length)
    _, values = onset_autocorrelation_curve(envelope, DEFAULT_AUDIO.sample_rate,
                                            DEFAULT_AUDIO.hop_length)
    return float(values.max()) if values.size else math.nan


def score(mels: dict[str, list[np.ndarray]]) -> dict[str, float]:
    """Mean Mel-level measures over all pieces, and painting-dependence of the groups."""
    flat = [m for group in mels.values() for m in group]
    dependence = painting_dependence({k: [describe(log_mel=m) for m in v]
                                      for k, v in mels.items()})
    return {"flux": float(np.mean([spectral_flux(m) for m in flat])),
            "band_change": float(np.mean([band_change(m) for m in flat])),
            "mel_beat": float(np.nanmean([mel_beat(m) for m in flat])),
            "between": dependence.between["long_term_spectrum"],
            "within": dependence.within["long_term_spectrum"] or math.nan,
            "ratio": dependence.ratio["long_term_spectrum"] or math.nan}


def kiosk_embeddings(bundle: Path, paintings: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Image and prompt embeddings of each artwork on the kiosk path (no comment)."""
    from engine.engine import Engine
    from training.evaluation.kiosk_path import painting_files, read_rgb

    engine = Engine.load(bundle, warmup=False)
    files = painting_files((paintings,))  # a folder, an image or a paintings JSONL
    out = {}
    for path in files:
        piece = engine.compose(read_rgb(path), "", target_dbfs=None, seed=0)
        out[path.stem] = (piece.image_embedding, piece.text_embedding)
    return out


def real_mels(data: Path, split: str = "test", limit: int = 16) -> list[np.ndarray]:
    from training.features import read_manifest

    rows = read_manifest(data)
    paths = sorted({row.mel_path for row in rows if row.split == split})[:limit]
    return [denormalize(np.load(p)) for p in paths]


def sweep(checkpoint: Path, embeddings: dict[str, tuple[np.ndarray, np.ndarray]],
          settings: list[Setting], seeds: int, tempo_bpm: float | None = None,
          primer_frames: int = 0, data: Path | None = None) -> list[dict]:
    """One row of `score` per setting (`checkpoint`: a run directory or a .safetensors file);
    with `primer_frames`, every piece starts from the primer of the bank built from `data`
    (training/primers.py), as a bundle exported with ``--primer-frames`` does."""
    from export.checkpoint import load_run
    from training.primers import build_primer_bank, nearest_primers

    run = load_run(checkpoint)
    model = run.model().eval()
    decoder = model.decoder
    bank = None
    if primer_frames:
        if data is None:
            raise ValueError("--primer-frames builds the primer bank from --data; give it")
        bank = build_primer_bank(data, run.encoders["image"], run.encoders["text"],
                                 decoder.codebook, primer_frames)
    rows = []
    for setting in settings:
        mels: dict[str, list[np.ndarray]] = {}
        for name, (image, text) in tqdm(embeddings.items(), desc=setting.label, unit="painting"):
            with torch.no_grad():
                image_t = torch.from_numpy(image)[None]
                h = model.projector(image_t, torch.from_numpy(text)[None])
                palette = decoder.palette(image_t) if setting.palette else None
                primer = (None if bank is None
                          else torch.from_numpy(nearest_primers(bank, image[None])))
                mels[name] = [denormalize(decoder.generate(
                    h, seed=seed, temperatures=setting.temperatures,
                    guidance=setting.guidance, repeat=setting.repeat,
                    repeat_beats=setting.repeat_beats, tempo_bpm=tempo_bpm, palette=palette,
                    palette_strength=setting.palette, primer=primer)[0].numpy())
                    for seed in range(seeds)]
        rows.append({"setting": setting.label, **score(mels)})
    return rows


def _groups(text: str) -> list[tuple[float, ...]]:
    """'1.1/0.8,1.0/0.8' → [(1.1, 0.8), (1.0, 0.8)]; '' → [()]; a 'none' group → ()."""
    if not text.strip():
        return [()]
    return [() if group.strip().lower() == "none" else
            tuple(float(v) for v in group.split("/")) for group in text.split(",")]


def _settings(guidance: str, temperatures: str, repeat: str = "",
              repeat_beats: str = "1", palette: str = "0") -> list[Setting]:
    scales = [float(g) for g in guidance.split(",")]
    beats = [float(b) for b in repeat_beats.split(",")]
    strengths = [float(p) for p in palette.split(",")]
    settings = []
    for g in scales:
        for t in _groups(temperatures):
            for k in _groups(repeat):
                for lam in strengths:
                    settings += [Setting(g, t, k, b, lam) for b in (beats if k else [1.0])]
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="token-decoder run")
    parser.add_argument("--bundle", type=Path, default=Path("assets/bundle"),
                        help="bundle whose encoders and prompt give the embeddings")
    parser.add_argument("--paintings", type=Path, default=Path("assets/artworks"))
    parser.add_argument("--data", type=Path, default=None, help="data set for real test clips")
    parser.add_argument("--guidance", default="1", help="comma-separated guidance scales")
    parser.add_argument("--temperatures", default="1.1/0.8",
                        help="comma-separated per-stage temperature groups, stages split by /")
    parser.add_argument("--repeat", default="",
                        help="comma-separated repetition-strength groups, stages split by / "
                             "('none' among them for no repetition)")
    parser.add_argument("--repeat-beats", default="1",
                        help="comma-separated lags of the repetition prior, in beats")
    parser.add_argument("--palette", default="0",
                        help="comma-separated palette-prior strengths (0: none)")
    parser.add_argument("--primer-frames", type=int, default=0,
                        help="start every piece from the primer bank built from --data "
                             "(export --primer-frames); 0: none")
    parser.add_argument("--tempo", type=float, default=None,
                        help="tempo (BPM) of the repetition lag for a run without a tempo head")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="CSV to write")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    embeddings = kiosk_embeddings(args.bundle, args.paintings)
    settings = _settings(args.guidance, args.temperatures, args.repeat, args.repeat_beats,
                         args.palette)
    rows = sweep(args.checkpoint, embeddings, settings, args.seeds, args.tempo,
                 args.primer_frames, args.data)
    if args.data is not None:
        clips = real_mels(args.data)
        rows.append({"setting": "real test clips", **score({str(i): [m] for i, m in
                                                            enumerate(clips)})})
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k])
                         for k in keys))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
