"""How far the vocoders alone move real music from itself: the floor under flatness and FAD.

Issue 9 asks the kiosk's pieces for a spectral flatness within ±50 % of real music's and a FAD
half the first bundle's. This measures what no decoder can remove: real test clips against
their own log-Mels played back through the bundle's full and light vocoders (and through the
token decoder's codebook first, when the bundle has one). FAD compares one half of the clips,
vocoded or not, with the other half as recorded, so the real-vs-real value is the floor of the
sample itself. Every other audio listen-proxy (onset strength, chroma change, pitch-class
entropy, onset autocorrelation) is reported beside flatness, so a vocoder that smears pitch
shows up as well as one that hisses.

    python -m training.evaluation.vocoder_floor --bundle assets/bundle --data data/dataset-topk
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from core.mel import denormalize, normalize
from core.mel import log_mel as compute_log_mel
from training.evaluation import metrics
from training.evaluation.musicality import AUDIO_MEASURES, measure


def bundle_codebook(bundle: Path) -> np.ndarray | None:
    """The token decoder's residual codebooks [stages, size, n_mels] read from its step graph
    (the [size, n_mels] lookup tables, in stage order); None for a bundle without one."""
    import onnx
    from onnx import numpy_helper

    path = Path(bundle) / "decoder_step.onnx"
    if not path.is_file():
        return None
    tables = [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer
              if len(t.dims) == 2 and t.dims[1] == 80 and t.dims[0] > 2]
    return np.stack(tables) if tables else None


def through_codebook(normalised: np.ndarray, books: np.ndarray) -> np.ndarray:
    """Normalised Mel [n_mels, T] encoded greedily stage by stage and decoded (codebook.py)."""
    residual, out = normalised.T.astype(np.float64), np.zeros(normalised.T.shape)
    for book in books:
        chosen = book[((residual[:, None, :] - book[None]) ** 2).sum(-1).argmin(1)]
        out, residual = out + chosen, residual - chosen
    return np.clip(out, -1.0, 1.0).T.astype(np.float32)


def vocoder_floor(engine, clips: list[np.ndarray], embedder=None,
                  books: np.ndarray | None = None, fad_only: bool = False) -> dict:
    """Mean flatness of `clips` as recorded and vocoded by each of the engine's vocoders (and
    through `books` then each vocoder), the mean of every audio listen-proxy under "measures";
    with an `embedder`, FAD of the even clips
    (recorded or vocoded) against the odd ones as recorded. `fad_only` vocodes the even clips
    alone (half the time) and reports their flatness only."""
    norm = engine.manifest.mel_norm
    vocoders = {"full": False} | ({"light": True} if engine.light_vocoder_name else {})
    measured: dict[str, list[dict[str, float]]] = {"recorded": []}
    patches: dict[str, list[np.ndarray]] = {"recorded": [], "reference": []}
    for index, clip in enumerate(clips):
        if fad_only and embedder is not None and index % 2:
            patches["reference"].append(embedder.embed_frames(clip, engine.audio.sample_rate))
            continue
        mel = compute_log_mel(clip, engine.audio)
        played = {"recorded": clip}
        for name, light in vocoders.items():
            engine.use_light_vocoder(light)
            played[name] = engine.vocode(mel)
        if books is not None:  # what the kiosk's vocoders get from the token decoder
            coded = denormalize(through_codebook(normalize(mel, norm), books), norm)
            for name, light in vocoders.items():
                engine.use_light_vocoder(light)
                played[f"codebook+{name}"] = engine.vocode(coded)
        for name, audio in played.items():
            piece = measure(audio=audio, config=engine.audio)
            measured.setdefault(name, []).append(
                {key: getattr(piece, key) for key in AUDIO_MEASURES})
        if embedder is not None:
            rate = engine.audio.sample_rate
            if index % 2:
                patches["reference"].append(embedder.embed_frames(clip, rate))
            else:
                for name, audio in played.items():
                    patches.setdefault(name, []).append(embedder.embed_frames(audio, rate))
    engine.use_light_vocoder(False)
    flatness = {name: [m["spectral_flatness"] for m in rows] for name, rows in measured.items()}
    result = {"clips": len(clips), "flatness_clips": len(measured["recorded"]),
              "flatness": {k: float(np.mean(v)) for k, v in flatness.items()},
              "flatness_median": {k: float(np.median(v)) for k, v in flatness.items()},
              "measures": {name: {key: float(np.nanmean([m[key] for m in rows]))
                                  for key in AUDIO_MEASURES}
                           for name, rows in measured.items()}}
    if embedder is not None and patches["reference"]:
        reference = np.concatenate(patches.pop("reference"))
        result["fad_vs_other_half"] = {k: metrics.fad(reference, np.concatenate(v))
                                       for k, v in patches.items() if v}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("assets/bundle"))
    parser.add_argument("--data", type=Path, required=True, help="data set (its test clips)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many clips")
    parser.add_argument("--no-fad", action="store_true", help="flatness only (no musicnn)")
    parser.add_argument("--fad-only", action="store_true",
                        help="vocode only the half FAD compares (flatness of that half alone)")
    parser.add_argument("--no-codebook", action="store_true",
                        help="skip the codebook-then-vocoder variants")
    parser.add_argument("--out", type=Path, default=None, help="JSON to write")
    args = parser.parse_args(argv)
    from engine import Engine
    from training.evaluation.musicality_report import MusicalityConfig, dataset_clips
    from training.evaluation.musicnn import DEFAULT_WEIGHTS, MusicnnEmbedder

    engine = Engine.load(args.bundle, providers=["cpu"])
    clips = [clip for _, clip in dataset_clips(args.data, "test", engine.audio, args.limit)]
    embedder = None if args.no_fad else MusicnnEmbedder(
        DEFAULT_WEIGHTS, MusicalityConfig.__dataclass_fields__["embedding_layer"].default)
    books = None if args.no_codebook else bundle_codebook(args.bundle)
    result = vocoder_floor(engine, clips, embedder, books, args.fad_only)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
