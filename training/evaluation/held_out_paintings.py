"""The paintings no part of a run has trained on, as a JSONL the kiosk-path report reads.

Issue 8 measures painting-dependence on held-out paintings: the held-out masterpieces (never in
the data set) and the images of the data set's val and test splits (split by painting), at most
`per_source` from each source folder (masterpieces, portraits, painterly; sorted by path), so
the procedurally painted images do not outnumber the real ones.

    python -m training.evaluation.held_out_paintings --data data/dataset-topk \
        --heldout data/corpora/paintings.heldout.jsonl --out runs/heldout_paintings.jsonl
    python main.py eval --bundle assets/bundle --paintings runs/heldout_paintings.jsonl ...
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

HELD_OUT_SPLITS = ("val", "test")


def held_out_paintings(data: Path, heldout: Path | None = None,
                       per_source: int = 9) -> list[str]:
    """Image paths of `heldout` (a paintings JSONL; relative paths are taken from its folder)
    and of the val/test rows of the data set `data`, at most `per_source` per source folder,
    held-out masterpieces first."""
    paths: list[str] = []
    if heldout is not None:
        for line in Path(heldout).read_text(encoding="utf-8").splitlines():
            if line.strip():  # relative paths are relative to the JSONL, as build-corpora writes
                path = Path(json.loads(line)["image_path"])
                paths.append(str(path if path.is_absolute()
                                 else (Path(heldout).parent / path).resolve()))
    rows = Path(data) / "manifest.jsonl"
    if not rows.is_file():
        raise FileNotFoundError(f"{rows} is missing; pass a built data set as --data.")
    split_paths = sorted({row["image_path"] for row in map(json.loads, rows.read_text(
        encoding="utf-8").splitlines()) if row.get("split") in HELD_OUT_SPLITS})
    by_source: dict[str, list[str]] = defaultdict(list)
    for path in dict.fromkeys(paths + split_paths):
        source = by_source[Path(path).parent.name]
        if len(source) < per_source:
            source.append(path)
    return [path for group in by_source.values() for path in group]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data set folder")
    parser.add_argument("--heldout", type=Path, default=None,
                        help="paintings JSONL kept out of the data set (build-corpora's "
                             "paintings.heldout.jsonl)")
    parser.add_argument("--per-source", type=int, default=9)
    parser.add_argument("--out", type=Path, required=True, help="JSONL to write")
    args = parser.parse_args(argv)
    paths = held_out_paintings(args.data, args.heldout, args.per_source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps({"image_path": p}) + "\n" for p in paths),
                        encoding="utf-8")
    print(f"{len(paths)} held-out paintings → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
