"""Sample artworks for the kiosk demo: a few reassembled masterpieces, downscaled, with a README."""

from __future__ import annotations

from pathlib import Path

import cv2

from training.corpora.config import SAMPLE_ARTWORKS

MAX_SIDE = 700
JPEG_QUALITY = 85
BUDGET_BYTES = 2_000_000


def export_samples(records: list[dict], canvases: dict[str, Path],
                   out_dir: Path = SAMPLE_ARTWORKS) -> list[Path]:
    """Writes the records marked ``sample`` as ≤ 700 px JPEGs plus ``README.md``; returns files.

    `canvases` maps a record id to its full-size reassembled PNG.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written, lines = [], []
    for record in (r for r in records if r.get("sample") and r["id"] in canvases):
        image = cv2.imread(str(canvases[record["id"]]))
        scale = min(1.0, MAX_SIDE / max(image.shape[:2]))
        if scale < 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        path = out_dir / f"{record['id']}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        written.append(path)
        held = "yes" if record.get("held_out") else "no"
        lines.append(f"| `{path.name}` | {record['title']} | {record['artist']} | "
                     f"{record['year']} | {image.shape[1]}×{image.shape[0]} | {held} |")
    total = sum(p.stat().st_size for p in written)
    if total > BUDGET_BYTES:
        raise ValueError(f"sample artworks take {total} bytes, over the {BUDGET_BYTES} budget; "
                         "mark fewer records as sample.")
    (out_dir / "README.md").write_text(_readme(lines, total), encoding="utf-8")
    return written


def _readme(rows: list[str], total: int) -> str:
    return "\n".join([
        "# Sample artworks for the kiosk demo",
        "",
        "Public-domain artworks reassembled from the puzzle tiles of Debian `gcompris-qt-data`",
        "(`/usr/share/gcompris-qt/rcc/paintings.rcc`, scans from the WebMuseum), downscaled to at",
        f"most {MAX_SIDE} px and saved as JPEG (quality {JPEG_QUALITY}); {total / 1e6:.2f} MB in all.",
        "Written by `python -m training.corpora build` (`training/corpora/artworks.py`); the",
        "list and the metadata come from `assets/data/masterpiece_comments.json`.",
        "",
        "Licence: the artworks are in the public domain (every artist died more than 70 years",
        "ago); the packaged scans are distributed by gcompris-qt-data under GPL-3.0-or-later",
        "(upstream note: \"All the paintings are from the WebMuseum. As per the WebMuseum",
        "license, the paintings are released under the GPLv3 or later.\").",
        "",
        "\"Held out\" works are excluded from training (`held_out: true` in `paintings.jsonl`), so",
        "the demo shows the model paintings it never saw.",
        "",
        "| file | title | artist | year | size | held out |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ])
