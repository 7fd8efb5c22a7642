"""Re-chooses the clips of a bundle's primer bank by the current rule, without the training run.

    python -m export.primer_bank --bundle assets/bundle --data data/dataset-topk

``main.py export --primer-frames`` builds the bank from the run (its cached image embeddings and
its codebook). The bank's images, their embeddings and the codebook are all in the bundle
already (``primer_embeddings.npy``, ``primers.json``, the step graph's code tables), so when only
the rule that picks each image's clip changes (training/primers.py: noise-like starts passed
over), this rewrites ``primer_codes.npy`` and ``primers.json`` from the data set's Mels encoded
through the bundle's own codebook, and re-hashes the manifest. Every other file stays as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from engine.bundle import Bundle
from engine.errors import EngineError
from engine.manifest import MANIFEST_NAME
from export.bundle import bundle_tool_parser, rewrite_bundle
from export.errors import ExportError
from training.evaluation.vocoder_floor import bundle_codebook
from training.features import read_manifest
from training.models.codebook import ResidualCodebook
from training.primers import FLATNESS_QUANTILE, choose_primer_rows

PRIMER_FILES = ("primer_codes.npy", "primers.json")


def rebuild_primer_bank(bundle_dir: Path, dataset: Path, out_dir: Path | None = None,
                        flatness_quantile: float | None = FLATNESS_QUANTILE,
                        frames: int | None = None) -> dict:
    """Writes the bundle with its bank's clips chosen again (over `frames` primer frames; None:
    the bank's own); returns {"changed", "images"}."""
    bundle = Bundle.open(bundle_dir, verify=True)
    decoder = bundle.manifest.decoder
    if not getattr(decoder, "primed", False):
        raise ExportError(f"{bundle_dir} has no primer bank; export it with --primer-frames.")
    record = json.loads(bundle.path("primers.json").read_text(encoding="utf-8"))
    frames = int(record["frames"]) if frames is None else int(frames)
    if frames < 1:
        raise ExportError(f"a primer needs at least one frame, got {frames}.")
    books = bundle_codebook(bundle_dir)
    if books is None:
        raise ExportError(f"{bundle_dir} has no token decoder step graph to read codebooks from.")
    codebook = ResidualCodebook(*books.shape)
    codebook.set_books(books)
    rows = read_manifest(Path(dataset))
    chosen = choose_primer_rows(rows, frames, flatness_quantile)
    by_stem = {Path(key).stem: index for key, index in chosen.items()}
    entries, codes, changed = [], [], 0
    for entry in record["primers"]:
        if entry["image"] not in by_stem:
            raise ExportError(f"{dataset} has no training rows for the bank image "
                              f"{entry['image']!r}; pass the data set the bundle was trained on.")
        row = rows[by_stem[entry["image"]]]
        mel = np.load(row.mel_path).astype(np.float32)[None, :, :frames]
        if mel.shape[-1] < frames:
            raise ExportError(f"clip {row.audio_id} has {mel.shape[-1]} frames, fewer than the "
                              f"bank's {frames}.")
        codes.append(codebook.encode(torch.from_numpy(mel))[0].numpy().astype(np.int16))
        changed += row.audio_id != entry["clip"]
        entries.append({"image": entry["image"], "clip": row.audio_id})
    raw = json.loads((Path(bundle_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
    raw["decoder"]["primer_frames"] = frames
    raw.setdefault("provenance", {})["primer_bank"] = {
        "rule": "best-matched clip not flatter than the quantile of the training clips",
        "flatness_quantile": flatness_quantile, "frames": frames, "changed": changed,
        "images": len(entries)}
    rewrite_bundle(bundle, out_dir, raw, {
        "primer_codes.npy": np.stack(codes),
        "primers.json": {**record, "frames": frames, "primers": entries}})
    return {"changed": changed, "images": len(entries)}


def main(argv: list[str] | None = None) -> int:
    parser = bundle_tool_parser("export.primer_bank", __doc__, "a bundle with a primer bank")
    parser.add_argument("--data", type=Path, required=True,
                        help="the data set the bundle was trained on (its Mels and matches)")
    parser.add_argument("--flatness-quantile", type=float, default=FLATNESS_QUANTILE,
                        help="pass over clips whose primer frames are flatter than this quantile "
                             "of the training clips' (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=None,
                        help="primer frames (teacher-forced before a piece, not played; default: "
                             "the bank's own)")
    args = parser.parse_args(argv)
    try:
        report = rebuild_primer_bank(args.bundle, args.data, args.out, args.flatness_quantile,
                                     args.frames)
    except (ExportError, EngineError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.out or args.bundle}: primer bank of {report['images']} images, "
          f"{report['changed']} now start from another clip")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
