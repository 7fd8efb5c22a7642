"""Adds the music → artwork retrieval graphs (issue 11) to an existing model bundle.

    python -m export.music_encoder --run runs/retrieval-v1 --bundle assets/bundle
    python -m export.music_encoder --run runs/retrieval-v1 --bundle assets/bundle --out bundles/b

Exports the run's music encoder (``log_mel`` [1, n_mels, frames] → ``music_embedding``) and art
projection (``image_embedding`` [batch, D_img] → ``art_embedding``), checks each against PyTorch
(max abs error ≤ ``--parity-tol``), and writes a new bundle — every existing file, the two
graphs, and the manifest with a ``retrieval`` entry (engine/retrieval.py) and every file
re-hashed — into a staging folder that replaces ``--out`` (default: the bundle itself) in one
rename, as export/bundle.py does. Every other manifest field is copied as it is. Adding it
again replaces the previous retrieval graphs. The bundle is re-opened and the graphs re-run
through the engine before the command reports success.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from engine.bundle import Bundle
from engine.manifest import MANIFEST_NAME
from engine.retrieval import RETRIEVAL_KEY, MusicRetrieval, RetrievalSpec, read_retrieval_spec
from export.bundle import BundleWriter
from export.errors import ExportError
from export.graph_export import export_graph
from export.onnx_export import GraphSource
from export.provenance import portable_path
from training.encoders import EncoderSpec
from training.retrieval.train import load_model

MUSIC_GRAPH = "music_encoder"
ART_GRAPH = "art_projection"


def add_music_encoder(run_dir: str | Path, bundle_dir: str | Path,
                      out_dir: str | Path | None = None, tolerance: float = 1e-4) -> RetrievalSpec:
    """Writes `bundle_dir` + the run's retrieval graphs to `out_dir` (default: in place)."""
    run_dir, bundle_dir = Path(run_dir), Path(bundle_dir)
    out_dir = Path(out_dir) if out_dir is not None else bundle_dir
    model, report = load_model(run_dir)
    bundle = Bundle.open(bundle_dir, verify=True)
    manifest = bundle.manifest
    trained_on = report.get("provenance", {}).get("image_encoder")
    bundle_image = manifest.encoders.get("image", {})
    if trained_on and EncoderSpec.parse(trained_on).to_dict() != bundle_image:
        raise ExportError(f"the run {run_dir} was trained on image encoder {trained_on} but the "
                          f"bundle's image graph is {bundle_image}; train the retrieval on "
                          "this bundle's encoder (python -m training.retrieval.train "
                          "--image-encoder ...).")
    config = model.config
    if config.n_mels != manifest.audio.n_mels:
        raise ExportError(f"the run reads {config.n_mels} Mel bands but the bundle's audio has "
                          f"{manifest.audio.n_mels}; train on this bundle's Mels.")
    image_dim = manifest.graphs["image_encoder"].outputs[0].shape[-1]
    if config.image_dim != image_dim:
        raise ExportError(f"the run's art projection takes {config.image_dim}-d image "
                          f"embeddings but the bundle's image graph gives {image_dim}-d.")
    frames = manifest.audio.frames
    previous = read_retrieval_spec(bundle_dir)
    drop = set(previous.files) if previous is not None else set()
    raw = json.loads((bundle_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    generator = torch.Generator().manual_seed(0)
    mel = torch.rand((1, config.n_mels, frames), generator=generator) * 2 - 1
    image = torch.nn.functional.normalize(torch.randn((2, config.image_dim),
                                                      generator=generator), dim=-1)
    torch.set_num_threads(1)
    with BundleWriter(out_dir) as writer:
        writer.stage_existing(bundle, drop)
        music = export_graph(GraphSource(MUSIC_GRAPH, model.music, (mel,), ("log_mel",),
                                         ("music_embedding",), fp16=False),
                             writer, fp16=False, tolerance=tolerance)
        art = export_graph(GraphSource(ART_GRAPH, model.art, (image,), ("image_embedding",),
                                       ("art_embedding",),
                                       dynamic_axes={"image_embedding": {0: "batch"},
                                                     "art_embedding": {0: "batch"}},
                                       fp16=False),
                           writer, fp16=False, tolerance=tolerance)
        spec = RetrievalSpec(
            music_graph=music.spec, art_graph=art.spec, embed_dim=config.embed_dim,
            frames=frames, image_encoder=dict(bundle_image),
            scores={k: report[k] for k in ("val", "test") if k in report},
            provenance={"run": portable_path(run_dir, out_dir.resolve()),
                        "best_epoch": report.get("best_epoch"),
                        "training": report.get("provenance", {}),
                        "model": report.get("model", {})})
        raw[RETRIEVAL_KEY] = spec.to_dict()
        writer.commit_raw(raw)
    _check_through_engine(out_dir, model, mel)
    return spec


def _check_through_engine(bundle_dir: Path, model, mel: torch.Tensor) -> None:
    """Re-opens the written bundle (hash check) and compares the engine's embeddings with
    PyTorch's; ExportError when they differ."""
    retrieval = MusicRetrieval.load(bundle_dir, verify=True)
    with torch.no_grad():
        expected = model.music(mel)[0].numpy()
    actual = retrieval.embed_mel(mel[0].numpy())
    error = float(np.max(np.abs(actual - expected)))
    if error > 1e-3:
        raise ExportError(f"the written bundle's music encoder differs from PyTorch by "
                          f"{error:.2e}; do not ship it.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.music_encoder",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True,
                        help="training run of python -m training.retrieval.train")
    parser.add_argument("--bundle", type=Path, required=True, help="the bundle to add it to")
    parser.add_argument("--out", type=Path, help="write the result here (default: in place)")
    parser.add_argument("--parity-tol", type=float, default=1e-4)
    args = parser.parse_args(argv)
    try:
        spec = add_music_encoder(args.run, args.bundle, args.out, args.parity_tol)
    except (ExportError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = args.out or args.bundle
    print(f"{out}: added {spec.music_graph.file} + {spec.art_graph.file} "
          f"(music parity {spec.music_graph.parity['fp32_max_abs_error']:.1e}, art parity "
          f"{spec.art_graph.parity['fp32_max_abs_error']:.1e}); held-out recall@5 "
          f"{spec.scores.get('test', {}).get('recall_at_5', float('nan')):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
