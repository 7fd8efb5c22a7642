"""``main.py index-collection DIR``: embeds a folder of artworks for music → artwork matching.

    python main.py index-collection assets/artworks            # writes assets/artworks/index.npz
    python main.py index-collection /gallery/scans --out /gallery/index.npz --bundle bundles/b

Every picture in DIR goes through the bundle's image graph once (``Engine.describe``: the image
embedding, the feelings and the art commentary). Titles and artists come from ``artworks.csv``
(columns file, title, artist) or ``artworks.json`` in DIR when present, else from the file
name. The kiosk's listen mode loads ``<artworks folder>/index.npz``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from installation.config import REPO_ROOT

DEFAULT_BUNDLE = REPO_ROOT / "assets" / "bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of artwork pictures")
    parser.add_argument("--out", type=Path, help="index file (default DIR/index.npz)")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="model bundle")


def run(args: argparse.Namespace) -> int:
    import cv2

    from engine import Engine, EngineError
    from engine.collection import DEFAULT_INDEX_NAME, build_index, image_files, read_sidecar

    folder: Path = args.folder
    if not folder.is_dir():
        print(f"error: {folder} is not a folder; give the folder that holds the artworks.",
              file=sys.stderr)
        return 2
    images = image_files(folder)
    if not images:
        print(f"error: {folder} holds no pictures (JPEG, PNG, BMP, WebP, TIFF); nothing to "
              "index.", file=sys.stderr)
        return 2
    out = args.out or folder / DEFAULT_INDEX_NAME

    def read_rgb(path: Path):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def skipped(path: Path, why: str) -> None:
        print(f"skipped {path.name}: {why}", file=sys.stderr)

    try:
        engine = Engine.load(args.bundle, warmup=False)
        manifest = engine.manifest
        sha = manifest.files.get(manifest.graphs["image_encoder"].file, "")
        index = build_index(images, engine.describe, read_rgb, out,
                            manifest.encoders.get("image", {}), sha, read_sidecar(folder),
                            on_skip=skipped)
    except EngineError as error:  # BundleError is one
        print(f"error: {error}", file=sys.stderr)
        return 1
    index.save(out)
    for entry in index.entries:
        print(f"{entry.label()}: {', '.join(entry.feelings) or 'no feelings'}")
    print(f"indexed {len(index)} artworks into {out}")
    return 0
