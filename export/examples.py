"""Example pieces of a bundle: held-out paintings → WAV + spectrogram PNG, through the engine.

``python -m export.examples --bundle assets/bundle --out assets/examples`` renders the first
``--count`` held-out sample artworks of ``assets/data/masterpiece_comments.json`` with their
first hand-written comment, exactly as the kiosk would (``Engine.compose``: the same feelings
rule, art commentary, prompt, streamed vocoding and loudness gain to -20 dBFS), and writes
``<id>.wav``, ``<id>.png`` and an ``examples.json`` index with prompts, the painting's
commentary, feelings, the gain applied and audio statistics (RMS, peak, spectral centroid), so
silence or noise is visible at a glance. ``--no-comment`` renders what a silent visitor hears.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import librosa
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from core.loudness import estimate_rms_dbfs  # noqa: E402
from engine import Engine  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMENTS = REPO_ROOT / "assets" / "data" / "masterpiece_comments.json"
ARTWORKS = REPO_ROOT / "assets" / "artworks"


@dataclass
class ExampleRecord:
    """What one example is, and the measured facts of its audio."""

    id: str
    title: str
    artist: str
    comment: str
    commentary: str
    feelings: list[str]
    prompt: str
    seconds: float
    raw_rms_dbfs: float
    gain_db: float
    rms_dbfs: float
    peak: float
    spectral_centroid_hz: float
    wav: str
    png: str
    seed: int | None = None
    """Sampling seed of the piece (None for the paper's deterministic decoder)."""
    peak_limit_db: float = 0.0
    """Gain that kept the file's peak at FILE_PEAK (0 when the loudness gain left it below)."""


FILE_PEAK = 0.98
"""Largest sample written to an example WAV: a piece whose loudness gain (taken from its first
2 s when the decoder samples) pushes peaks past full scale is scaled down whole, as the kiosk's
peak limiter would, instead of clipping in the 16-bit file."""


def held_out_works(comments_file: Path = COMMENTS, artworks: Path = ARTWORKS) -> list[dict]:
    """Held-out masterpieces that ship as sample artworks (image file present)."""
    works = json.loads(comments_file.read_text(encoding="utf-8"))["paintings"]
    return [w for w in works if w.get("held_out") and (artworks / f"{w['id']}.jpg").is_file()]


def _save_png(path: Path, rgb: np.ndarray, log_mel: np.ndarray, audio: np.ndarray,
              sample_rate: int, hop: int, title: str) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2),
                                         gridspec_kw={"width_ratios": [1, 2.4]})
    left.imshow(rgb)
    left.set_axis_off()
    left.set_title(title, fontsize=10)
    power = np.abs(librosa.stft(audio, n_fft=1024, hop_length=hop)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sample_rate, n_mels=log_mel.shape[0],
                                         fmax=sample_rate / 2)
    image = right.imshow(librosa.power_to_db(mel, ref=np.max), origin="lower", aspect="auto",
                         cmap="magma", extent=(0, audio.size / sample_rate, 0, log_mel.shape[0]))
    right.set_xlabel("seconds")
    right.set_ylabel("Mel bin")
    right.set_title("generated audio, Mel spectrogram (dB)", fontsize=10)
    figure.colorbar(image, ax=right, fraction=0.03)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def render_examples(bundle: Path, out: Path, count: int = 3,
                    with_comment: bool = True, seed: int = 0) -> list[ExampleRecord]:
    """Composes one piece per held-out work and writes WAV, PNG and examples.json into `out`
    (a sampling decoder draws each piece with `seed`, recorded, so the examples reproduce)."""
    engine = Engine.load(bundle)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for work in held_out_works()[:count]:
        bgr = cv2.imread(str(ARTWORKS / f"{work['id']}.jpg"), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        comment = work["comments"][0]["text"] if with_comment else ""
        piece = engine.compose(rgb, comment, seed=seed)  # the kiosk's path, loudness gain included
        gain = piece.gain
        audio = piece.playback_audio()
        peak_gain = min(1.0, FILE_PEAK / max(float(np.max(np.abs(audio))), 1e-9))
        audio = audio * np.float32(peak_gain)  # the kiosk's limiter does this live; a file clips
        wav, png = out / f"{work['id']}.wav", out / f"{work['id']}.png"
        sf.write(wav, audio, piece.sample_rate, subtype="PCM_16")
        _save_png(png, rgb, piece.log_mel, audio, piece.sample_rate, piece.hop_length,
                  f"{work['title']} ({work['artist']})")
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        centroid = librosa.feature.spectral_centroid(y=audio, sr=piece.sample_rate)
        records.append(ExampleRecord(
            id=work["id"], title=work["title"], artist=work["artist"], comment=comment,
            commentary=piece.reading.text if piece.reading else "",
            feelings=list(piece.feelings), prompt=piece.prompt, seconds=round(piece.seconds, 2),
            raw_rms_dbfs=round(estimate_rms_dbfs(piece.log_mel, engine.audio), 1),
            gain_db=round(20 * np.log10(gain), 1),
            peak_limit_db=round(20 * np.log10(peak_gain), 1),
            rms_dbfs=round(20 * np.log10(max(rms, 1e-9)), 1),
            peak=round(float(np.max(np.abs(audio))), 3),
            spectral_centroid_hz=round(float(np.mean(centroid)), 1), wav=wav.name, png=png.name,
            seed=piece.seed))
    index = {"bundle": bundle.name, "vocoder": engine.vocoder_name,
             "examples": [asdict(r) for r in records]}
    (out / "examples.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.examples", description=__doc__)
    parser.add_argument("--bundle", type=Path, default=REPO_ROOT / "assets" / "bundle")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "assets" / "examples")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--no-comment", action="store_true",
                        help="compose without the visitor comment (the painting's commentary only)")
    parser.add_argument("--seed", type=int, default=0,
                        help="sampling seed of each piece (bundles whose decoder samples)")
    args = parser.parse_args(argv)
    for record in render_examples(args.bundle, args.out, args.count, not args.no_comment,
                                  args.seed):
        print(f"{record.id}: {record.seconds} s, {record.rms_dbfs} dBFS, peak {record.peak}, "
              f"centroid {record.spectral_centroid_hz} Hz, feelings {', '.join(record.feelings)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
