"""Puts another HiFi-GAN generator into an existing bundle (issue 10 item 1: a lighter CPU vocoder).

    python -m export.replace_vocoder --bundle assets/bundle --vocoder runs/vocoder-k3 \\
        --music data/dataset-topk --out runs/bundle-k3

The new generator (a distilled ``v1-k3`` run of ``main.py distill-vocoder``, a fine-tuned
checkpoint, or ``universal``) is exported exactly as ``main.py export`` exports a vocoder
(export.graphs.vocoder_source, parity against PyTorch, fp16 weights where parity holds) and its
receptive field is measured again for the streaming context. Every other file and manifest field
is copied as it is and every file re-hashed (export/music_encoder.py's staging and commit). With
``--music`` the new vocoder's audio is compared with the old one's on held-out real Mels (MCD
and Mel L1 of their log-Mels), and the result is refused past ``--max-mcd`` dB.

With ``--light`` the bundle keeps its vocoder and gains the new one as ``vocoder_light``
(graph ``vocoder_light``): the engine loads both and the kiosk switches to the light one when
it measures that generation is slower than real time (installation/composer.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import onnx

from engine.bundle import Bundle
from engine.manifest import MANIFEST_NAME, VOCODER_LIGHT
from export.bundle import BundleWriter
from export.errors import ExportError
from export.graph_export import export_graph
from export.graphs import VOCODER, receptive_field_frames, vocoder_source
from export.music_encoder import _commit, _stage_existing
from export.pipeline import CONTEXT_MARGIN_FRAMES
from export.provenance import portable_path
from export.quantize_vocoder import audio_distance, calibration_mels
from export.vocoder import load_vocoder

DEFAULT_MAX_MCD_DB = 3.0
"""Refuse a vocoder whose audio is further than this from the replaced one's (MCD, dB)."""


@dataclass(frozen=True)
class ReplaceOptions:
    bundle: Path
    vocoder: str | Path
    out: Path | None = None
    music: Path | None = None
    check_clips: int = 4
    max_mcd_db: float = DEFAULT_MAX_MCD_DB
    fp16: bool = True
    parity_tol: float = 1e-3
    light: bool = False
    """Add the generator as the bundle's light second vocoder instead of replacing its own."""


@dataclass(frozen=True)
class ReplaceReport:
    previous: str
    name: str
    context_frames: int
    weights: str
    mcd_db: float | None
    mel_l1: float | None


PROVENANCE_PATHS = ("checkpoint", "training_data")
"""Top-level provenance entries that are paths (relative to the bundle directory)."""
VOCODER_PROVENANCE_PATHS = ("source", "choice")
"""The same inside a vocoder's provenance, where they are paths at all (``universal`` is not)."""


def rebase_provenance(provenance: dict, old_dir: Path, new_dir: Path) -> dict:
    """`provenance` of a bundle in `old_dir` for its copy in `new_dir`: every relative path that
    names an existing file from `old_dir` names it again from `new_dir` (the eager bench and
    the exporters find the training run through them)."""
    def moved(value):
        if not isinstance(value, str) or not value or Path(value).is_absolute():
            return value
        found = Path(old_dir) / value
        return portable_path(found, new_dir) if found.exists() else value

    rebased = {key: moved(value) if key in PROVENANCE_PATHS else value
               for key, value in provenance.items()}
    for key in ("vocoder", "vocoder_light"):
        if isinstance(rebased.get(key), dict):
            rebased[key] = {name: moved(value) if name in VOCODER_PROVENANCE_PATHS else value
                            for name, value in rebased[key].items()}
    return rebased


def replace_vocoder(options: ReplaceOptions) -> ReplaceReport:
    """Writes `options.bundle` with the new vocoder to `options.out` (default: in place)."""
    bundle_dir = Path(options.bundle)
    out_dir = Path(options.out) if options.out is not None else bundle_dir
    bundle = Bundle.open(bundle_dir, verify=True)
    manifest = bundle.manifest
    audio = manifest.audio
    source = load_vocoder(options.vocoder, audio)
    if source.generator is None:
        raise ExportError("--vocoder must be a HiFi-GAN generator (a checkpoint, a run directory "
                          "or 'universal'); Griffin-Lim is chosen at main.py export.")
    old = manifest.vocoder_light if options.light else manifest.vocoder
    if options.light and manifest.vocoder.graph is None:
        raise ExportError(f"{bundle_dir} plays Griffin-Lim; a light vocoder needs a HiFi-GAN "
                          "bundle vocoder to stand in for.")
    graph_name, key = (VOCODER_LIGHT, "vocoder_light") if options.light else (VOCODER, "vocoder")
    compared = manifest.vocoder if options.light else old
    old_files = set(manifest.graphs[old.graph].files) if old and old.graph else set()
    old_model = (onnx.load(str(bundle.path(manifest.graphs[compared.graph].file)))
                 if compared.graph else None)
    context = receptive_field_frames(source.generator, audio) + CONTEXT_MARGIN_FRAMES
    raw = json.loads((bundle_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    if out_dir.resolve() != bundle_dir.resolve():
        raw["provenance"] = rebase_provenance(raw.get("provenance", {}), bundle_dir, out_dir)
    distance: tuple[float, float] | None = None
    with BundleWriter(out_dir) as writer:
        _stage_existing(bundle, writer, old_files)
        graph = replace(vocoder_source(source.generator, audio), name=graph_name)
        exported = export_graph(graph, writer, options.fp16, options.parity_tol)
        if options.music is not None and old_model is not None:
            held = calibration_mels(Path(options.music), audio, manifest.mel_norm, split="test")
            new_model = onnx.load(str(writer.path(exported.spec.file)))
            distance = audio_distance(old_model, new_model, held[:options.check_clips], audio)
            if distance[0] > options.max_mcd_db:
                raise ExportError(f"the new vocoder's audio is {distance[0]:.2f} dB MCD from "
                                  f"{compared.name}'s (limit {options.max_mcd_db:g} dB); train it "
                                  "longer (main.py distill-vocoder --resume) or raise --max-mcd "
                                  "knowingly.")
        raw["graphs"][graph_name] = exported.spec.to_dict()
        raw[key] = {"name": source.name, "graph": graph_name, "context_frames": context,
                    "config": source.config}
        provenance = {key: (portable_path(value, writer.out_dir)
                            if key in ("source", "choice") and Path(str(value)).exists()
                            else value) for key, value in source.provenance.items()}
        provenance["replaced"] = old.name if old else None
        if distance is not None:
            provenance["vs_replaced"] = {"mcd_db": distance[0], "mel_l1": distance[1],
                                         "clips": min(options.check_clips, len(held))}
        raw.setdefault("provenance", {})[key] = provenance
        raw.setdefault("licences", {})[key] = source.licence
        _commit(writer, raw)
    reopened = getattr(Bundle.open(out_dir, verify=True).manifest, key)
    if reopened is None or reopened.name != source.name or reopened.context_frames != context:
        raise ExportError(f"the written bundle {out_dir} does not name the new vocoder; do not "
                          "ship it.")
    return ReplaceReport(compared.name, source.name, context, exported.report.weights,
                         distance[0] if distance else None, distance[1] if distance else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.replace_vocoder",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="the bundle to change")
    parser.add_argument("--vocoder", required=True,
                        help="generator checkpoint or run directory (distill-vocoder, "
                             "train-vocoder) or 'universal'")
    parser.add_argument("--out", type=Path, help="write the result here (default: in place)")
    parser.add_argument("--music", type=Path,
                        help="held-out real music (a data set's test Mels or a folder of audio) "
                             "to compare the new vocoder with the old one")
    parser.add_argument("--max-mcd", type=float, default=DEFAULT_MAX_MCD_DB,
                        help="refuse when the new audio is further than this from the old (dB)")
    parser.add_argument("--no-fp16", action="store_true", help="keep float32 weights")
    parser.add_argument("--light", action="store_true",
                        help="keep the bundle's vocoder and add this one as its light second "
                             "vocoder (the kiosk switches to it when generation is too slow)")
    args = parser.parse_args(argv)
    options = ReplaceOptions(args.bundle, args.vocoder, args.out, args.music,
                             max_mcd_db=args.max_mcd, fp16=not args.no_fp16, light=args.light)
    try:
        report = replace_vocoder(options)
    except (ExportError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    measured = (f"; vs {report.previous}: MCD {report.mcd_db:.3f} dB, Mel L1 {report.mel_l1:.4f}"
                if report.mcd_db is not None else "")
    verb = "+ light" if args.light else "->"
    print(f"{args.out or args.bundle}: vocoder {report.previous} {verb} {report.name} "
          f"({report.weights} weights, context {report.context_frames} frames){measured}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
