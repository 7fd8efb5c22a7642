"""The vocoders of several bundles side by side on one run: speed and quality (issue 10 item 1).

    python -m bench.vocoders --bundle assets/bundle --bundle runs/bundle-int8 --out runs/voc
    main.py bench --bundle assets/bundle --vocoders runs/bundle-int8      # after the bench

Each bundle's vocoder runs through the engine's own classes (engine.session.GraphSession,
engine.vocoder, engine.streaming.stream_vocode) on the CPU provider with 1 and 2 intra-op
threads. Per vocoder and thread count: the real-time factor (seconds per second of audio; < 1
is faster than real time) of a one-pass vocode of each Mel and of the streamed blocks the kiosk
plays (`chunk_frames` + the manifest's context frames), the best of `repeats`. Quality against
the FIRST bundle's vocoder (the reference) on the same Mels: Mel L1 (nats) and MCD (dB) of the
log-Mels of their audio (training/evaluation/metrics.py), and each vocoder's MCD against the Mel
it was given. Writes ``vocoders.csv``, ``vocoders.png`` (the real-time factors) and
``vocoders_spectrograms.png`` (the first Mel as each vocoder plays it, and each one's
difference from the reference's).

The Mels: `--vocoder-mels`, a folder of audio files or of normalised ``.npy`` Mels or a data
set (its test split; export.quantize_vocoder.calibration_mels); default the shipped example pieces
(assets/examples/*.wav), cut to `frames` frames (a 10.4 s piece).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from core.mel import log_mel
from engine.bundle import Bundle
from engine.engine import FIRST_CHUNK_FRAMES, MAX_CHUNK_FRAMES
from engine.providers import CPU
from engine.session import GraphSession, SessionSettings
from engine.streaming import stream_vocode
from engine.vocoder import GriffinLimVocoder, OnnxVocoder, Vocoder

DEFAULT_MELS = Path(__file__).resolve().parents[1] / "assets" / "examples"
THREADS = (1, 2)
CONSOLE_WIDTH = 160
"""Console width when the output goes to a file or CI log (the table has ten columns)."""


@dataclass(frozen=True)
class VocoderRow:
    """One vocoder at one thread count."""

    bundle: str
    vocoder: str
    weights: str
    threads: int
    one_pass_rtf: float
    streamed_rtf: float
    chunk_frames: int
    mel_l1_vs_reference: float
    mcd_db_vs_reference: float
    mcd_db_vs_input: float
    mels: int


def load_vocoder(bundle_dir: Path, threads: int) -> tuple[Bundle, Vocoder]:
    """The bundle's vocoder as the engine makes it, on the CPU provider with `threads`."""
    bundle = Bundle.open(bundle_dir, verify=True)
    manifest = bundle.manifest
    if manifest.vocoder.graph is None:
        return bundle, GriffinLimVocoder(manifest.audio)
    spec = manifest.graphs[manifest.vocoder.graph]
    settings = SessionSettings(providers=(CPU,), cache_root=bundle.directory / "trt_cache",
                               intra_op_threads=threads)
    session = GraphSession(manifest.vocoder.graph, bundle.path(spec.file), spec,
                           tuple(manifest.files.get(f, f"unlisted:{f}") for f in spec.files),
                           settings)
    return bundle, OnnxVocoder(manifest.vocoder.name, session)


def bench_mels(source: Path, bundle: Bundle, frames: int, count: int) -> list[np.ndarray]:
    """Up to `count` natural-log Mels [n_mels, ≤ frames] of real audio (see the module doc)."""
    from export.quantize_vocoder import calibration_mels

    mels = calibration_mels(source, bundle.manifest.audio, bundle.manifest.mel_norm, split="test")
    return [np.ascontiguousarray(m[:, :frames], np.float32) for m in mels[:count]]


def _best(seconds: list[float]) -> float:
    return float(min(seconds))


def time_vocoder(vocoder: Vocoder, mels: list[np.ndarray], hop: int, chunk_frames: int,
                 context_frames: int, repeats: int) -> tuple[float, float, list[np.ndarray]]:
    """(best one-pass seconds, best streamed seconds, one-pass audio per Mel) over all Mels,
    best of `repeats` after one warm-up run."""
    vocoder(mels[0][:, :chunk_frames])
    one_pass, streamed = [], []
    audio: list[np.ndarray] = []
    for _ in range(repeats):
        start = time.perf_counter()
        audio = [np.asarray(vocoder(m), np.float32) for m in mels]
        one_pass.append(time.perf_counter() - start)
        start = time.perf_counter()
        for mel in mels:
            # the kiosk's blocks: half a chunk first, then chunk_frames, then doubling
            for _block in stream_vocode(vocoder, mel, hop, chunk_frames, context_frames,
                                        vocoder.crossfade, min(chunk_frames, FIRST_CHUNK_FRAMES),
                                        max(chunk_frames, MAX_CHUNK_FRAMES)):
                pass
        streamed.append(time.perf_counter() - start)
    return _best(one_pass), _best(streamed), audio


def compare_vocoders(bundles: list[Path], mels_source: Path = DEFAULT_MELS,
                     threads: tuple[int, ...] = THREADS, chunk_frames: int = 64,
                     repeats: int = 2, count: int = 4) -> tuple[list[VocoderRow], dict]:
    """Rows for every bundle × thread count, and {label: log-Mel of the first Mel's audio}."""
    from training.evaluation.metrics import mcd

    if not bundles:
        raise ValueError("compare_vocoders needs at least one bundle.")
    rows: list[VocoderRow] = []
    spectrograms: dict[str, np.ndarray] = {}
    reference: list[np.ndarray] | None = None
    mels: list[np.ndarray] = []
    for bundle_dir in bundles:
        for count_threads in threads:
            bundle, vocoder = load_vocoder(Path(bundle_dir), count_threads)
            manifest = bundle.manifest
            audio_config = manifest.audio
            if not mels:
                mels = bench_mels(mels_source, bundle, audio_config.frames, count)
            seconds = sum(m.shape[1] for m in mels) * audio_config.hop_length
            seconds /= audio_config.sample_rate
            one, streamed, audio = time_vocoder(vocoder, mels, audio_config.hop_length,
                                                chunk_frames, manifest.vocoder.context_frames,
                                                repeats)
            played = [log_mel(a, audio_config)[:, :m.shape[1]] for a, m in zip(audio, mels,
                                                                                  strict=True)]
            if reference is None:
                reference = played
            l1 = np.mean([np.abs(p - r).mean() for p, r in zip(played, reference, strict=True)])
            to_reference = np.mean([mcd(r, p) for p, r in zip(played, reference, strict=True)])
            to_input = np.mean([mcd(m, p) for p, m in zip(played, mels, strict=True)])
            label = f"{Path(bundle_dir).name}: {manifest.vocoder.name}"
            spectrograms.setdefault(label, played[0])
            weights = (manifest.graphs[manifest.vocoder.graph].weights
                       if manifest.vocoder.graph else "—")
            rows.append(VocoderRow(str(bundle_dir), manifest.vocoder.name, weights,
                                   count_threads, one / seconds, streamed / seconds,
                                   chunk_frames, float(l1), float(to_reference),
                                   float(to_input), len(mels)))
    return rows, spectrograms


def table(rows: list[VocoderRow]) -> Table:
    out = Table(title="Vocoders (CPU provider; quality vs the first bundle's vocoder)")
    for column in ("bundle", "vocoder", "weights", "threads", "RTF one pass", "RTF streamed",
                   "× real time (streamed)", "Mel L1 vs ref", "MCD vs ref (dB)",
                   "MCD vs input (dB)"):
        out.add_column(column, justify="left" if column in ("bundle", "vocoder") else "right",
                       no_wrap=column == "vocoder")
    for r in rows:
        out.add_row(Path(r.bundle).name, r.vocoder, r.weights, str(r.threads),
                    f"{r.one_pass_rtf:.3f}", f"{r.streamed_rtf:.3f}",
                    f"{1 / r.streamed_rtf:.2f}", f"{r.mel_l1_vs_reference:.4f}",
                    f"{r.mcd_db_vs_reference:.3f}", f"{r.mcd_db_vs_input:.3f}")
    return out


def write_csv(rows: list[VocoderRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    return path


def write_png(rows: list[VocoderRow], spectrograms: dict[str, np.ndarray],
              out: Path) -> tuple[Path, Path]:
    """Real-time factors as bars; the first Mel's spectrogram as each vocoder plays it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{Path(r.bundle).name}\n{r.vocoder}, {r.threads} thr" for r in rows]
    positions = np.arange(len(rows))
    figure, axis = plt.subplots(figsize=(8, 0.6 * len(rows) + 1.5))
    axis.barh(positions - 0.2, [r.one_pass_rtf for r in rows], height=0.4, label="one pass")
    axis.barh(positions + 0.2, [r.streamed_rtf for r in rows], height=0.4,
              label=f"streamed ({rows[0].chunk_frames}-frame blocks)")
    for y, r in zip(positions, rows, strict=True):
        axis.text(max(r.one_pass_rtf, r.streamed_rtf) * 1.02, y,
                  f"MCD vs ref {r.mcd_db_vs_reference:.2f} dB", va="center", fontsize=8)
    axis.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    axis.axvline(0.2, color="green", linestyle=":", linewidth=1)
    axis.set_yticks(positions, labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("real-time factor (s per s of audio; 1 = real time, 0.2 = 5× faster)")
    axis.legend(loc="lower right")
    figure.tight_layout()
    bars = out / "vocoders.png"
    figure.savefig(bars, dpi=110)
    plt.close(figure)
    reference = next(iter(spectrograms.values()))
    panels = [(label, mel, False) for label, mel in spectrograms.items()]
    panels += [(f"{label} minus the reference (nats)", mel - reference, True)
               for label, mel in list(spectrograms.items())[1:]]
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 * len(panels)), squeeze=False)
    for axis, (label, mel, difference) in zip(axes[:, 0], panels, strict=True):
        image = axis.imshow(mel, origin="lower", aspect="auto", vmin=-2 if difference else -11.5,
                            vmax=2 if difference else 2.5,
                            cmap="coolwarm" if difference else "magma")
        figure.colorbar(image, ax=axis, pad=0.01)
        axis.set_title(label, fontsize=9)
        axis.set_ylabel("Mel band")
    axes[-1, 0].set_xlabel("frame")
    figure.tight_layout()
    spectra = out / "vocoders_spectrograms.png"
    figure.savefig(spectra, dpi=100)
    plt.close(figure)
    return bars, spectra


def run(bundles: list[Path], out: Path, mels: Path = DEFAULT_MELS,
        threads: tuple[int, ...] = THREADS, chunk_frames: int = 64, repeats: int = 2,
        count: int = 4, console: Console | None = None) -> list[VocoderRow]:
    """Compares, prints the table and writes the CSV and PNGs into `out`."""
    console = console or Console(width=None if sys.stdout.isatty() else CONSOLE_WIDTH)
    rows, spectrograms = compare_vocoders(bundles, mels, threads, chunk_frames, repeats, count)
    out.mkdir(parents=True, exist_ok=True)
    console.print(table(rows))
    written = [write_csv(rows, out / "vocoders.csv"), *write_png(rows, spectrograms, out)]
    console.print("wrote " + ", ".join(str(p) for p in written))
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vocoder-mels", type=Path, default=DEFAULT_MELS,
                        help="real audio for the vocoder comparison: a folder of audio files, "
                        "of normalised .npy Mels, or a data set")
    parser.add_argument("--vocoder-threads", default="1,2",
                        help="comma list of onnxruntime intra-op thread counts")
    parser.add_argument("--vocoder-clips", type=int, default=4, help="Mels vocoded per run")


def parse_threads(text: str) -> tuple[int, ...]:
    values = tuple(int(x) for x in text.split(",") if x.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--vocoder-threads wants positive counts, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vocoders",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, action="append", required=True,
                        help="a bundle (repeat; the first is the quality reference)")
    parser.add_argument("--out", type=Path, default=Path("bench_results/vocoders"))
    parser.add_argument("--chunk-frames", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    add_arguments(parser)
    args = parser.parse_args(argv)
    run(args.bundle, args.out, args.vocoder_mels, parse_threads(args.vocoder_threads),
        args.chunk_frames, args.repeats, args.vocoder_clips)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
