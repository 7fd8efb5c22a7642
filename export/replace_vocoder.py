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

With ``--hf-shelf auto`` the graph ends in a shelf above the Mel's top band, calibrated on
``--music``'s training clips to take out the energy the vocoder invents there (export/hf_shelf.py;
``--hf-shelf -4`` sets the cut in dB instead). The calibration goes into the bundle's provenance.

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
from export.hf_shelf import ShelfCalibration, ShelvedGenerator, calibrate, shelf_taps, torch_vocode
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
    hf_shelf: str | None = None
    """``"auto"`` (calibrated on ``music``'s training clips), a cut in dB, or None for none."""
    shelf_clips: int = 16


@dataclass(frozen=True)
class ReplaceReport:
    previous: str
    name: str
    context_frames: int
    weights: str
    mcd_db: float | None
    mel_l1: float | None
    shelf: ShelfCalibration | None = None


def shelf_for(generator, options: ReplaceOptions, audio) -> ShelfCalibration | None:
    """The shelf that ``options.hf_shelf`` asks for (calibrated or fixed), or None."""
    if options.hf_shelf is None:
        return None
    if options.hf_shelf == "auto":
        if options.music is None:
            raise ExportError("--hf-shelf auto calibrates on real music; pass --music DATASET "
                              "(or a fixed cut such as --hf-shelf -4).")
        from training.evaluation.musicality_report import dataset_clips

        clips = [clip for _, clip in dataset_clips(Path(options.music), "train", audio,
                                                    options.shelf_clips)]
        try:
            return calibrate(torch_vocode(generator), clips, audio)
        except ValueError as err:
            raise ExportError(str(err)) from None
    try:
        gain = float(options.hf_shelf)
    except ValueError:
        raise ExportError(f"--hf-shelf takes 'auto' or a cut in dB, not {options.hf_shelf!r}."
                          ) from None
    if gain > 0:
        raise ExportError(f"--hf-shelf only cuts: {gain:+g} dB is a boost.")
    return ShelfCalibration(gain_db=gain, excess_db_mean=None, excess_db_std=None, clips=0,
                            above_hz=float(audio.fmax))


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
    shelf = shelf_for(source.generator, options, audio)
    module = (ShelvedGenerator(source.generator, shelf_taps(shelf.gain_db, audio)).eval()
              if shelf is not None else source.generator)
    context = receptive_field_frames(module, audio) + CONTEXT_MARGIN_FRAMES
    raw = json.loads((bundle_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    if out_dir.resolve() != bundle_dir.resolve():
        raw["provenance"] = rebase_provenance(raw.get("provenance", {}), bundle_dir, out_dir)
    distance: tuple[float, float] | None = None
    with BundleWriter(out_dir) as writer:
        writer.stage_existing(bundle, old_files)
        graph = replace(vocoder_source(module, audio), name=graph_name)
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
        if shelf is not None:
            provenance["hf_shelf"] = shelf.to_dict()
        if distance is not None:
            provenance["vs_replaced"] = {"mcd_db": distance[0], "mel_l1": distance[1],
                                         "clips": min(options.check_clips, len(held))}
        raw.setdefault("provenance", {})[key] = provenance
        raw.setdefault("licences", {})[key] = source.licence
        writer.commit_raw(raw)
    reopened = getattr(Bundle.open(out_dir, verify=True).manifest, key)
    if reopened is None or reopened.name != source.name or reopened.context_frames != context:
        raise ExportError(f"the written bundle {out_dir} does not name the new vocoder; do not "
                          "ship it.")
    return ReplaceReport(compared.name, source.name, context, exported.report.weights,
                         distance[0] if distance else None, distance[1] if distance else None,
                         shelf)


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
    parser.add_argument("--hf-shelf", metavar="auto|DB",
                        help="end the graph in a shelf above the Mel's top band: 'auto' "
                             "calibrates the cut on --music's training clips (the energy the "
                             "vocoder invents there), a number (e.g. -4) sets it in dB")
    parser.add_argument("--shelf-clips", type=int, default=16,
                        help="training clips the shelf is calibrated on (default: %(default)s)")
    args = parser.parse_args(argv)
    options = ReplaceOptions(args.bundle, args.vocoder, args.out, args.music,
                             max_mcd_db=args.max_mcd, fp16=not args.no_fp16, light=args.light,
                             hf_shelf=args.hf_shelf, shelf_clips=args.shelf_clips)
    try:
        report = replace_vocoder(options)
    except (ExportError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    measured = (f"; vs {report.previous}: MCD {report.mcd_db:.3f} dB, Mel L1 {report.mel_l1:.4f}"
                if report.mcd_db is not None else "")
    if report.shelf is not None:
        measured += (f"; shelf {report.shelf.gain_db:+.2f} dB above {report.shelf.above_hz:g} Hz"
                     + (f" (excess {report.shelf.excess_db_mean:+.2f} ± "
                        f"{report.shelf.excess_db_std:.2f} dB on {report.shelf.clips} clips)"
                        if report.shelf.clips else ""))
    verb = "+ light" if args.light else "->"
    print(f"{args.out or args.bundle}: vocoder {report.previous} {verb} {report.name} "
          f"({report.weights} weights, context {report.context_frames} frames){measured}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
