"""Outputs of ``main.py eval``: a Table IV-shaped rich table, CSV, bar chart PNG and JSON."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from training.evaluation.evaluate import EvalResult

# (field, header, lower is better)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("mcd", "MCD ↓", True),
    ("fad", "FAD ↓", True),
    ("lsd", "LSD ↓", True),
    ("cosine", "Cosine Similarity ↑", False),
    ("lsd_mel", "Mel LSD ↓", True),
)

MODE_COLOURS = {"random": "#9e9e9e", "image-only": "#64b5f6", "text-only": "#81c784",
                "full": "#e57373"}


def _best(result: EvalResult, key: str, lower: bool) -> float:
    values = [getattr(row, key) for row in result.rows]
    return min(values) if lower else max(values)


def table(result: EvalResult) -> Table:
    """Table IV layout: one row per input configuration, best value per column in bold."""
    info = result.info
    out = Table(title=f"Table IV — input configurations ({info['split']} split, "
                      f"{info['clips']} clips)",
                caption=f"embeddings: {info['embedding_model']}\nvocoder: {info['vocoder']}; "
                        f"reference waveforms: {info['reference']}",
                caption_justify="left")
    out.add_column("Model", no_wrap=True)
    for _, header, _ in COLUMNS:
        out.add_column(header, justify="right", no_wrap=True)
    for row in result.rows:
        cells = []
        for key, _, lower in COLUMNS:
            value = getattr(row, key)
            text = f"{value:.2f}" if key != "cosine" else f"{value:.3f}"
            std = getattr(row, f"{key}_std", None)
            if std is not None and row.clips > 1:
                text += f"±{std:.2f}"
            best = len(result.rows) > 1 and value == _best(result, key, lower)
            cells.append(f"[bold]{text}[/bold]" if best else text)
        out.add_row(row.label, *cells)
    return out


def print_table(result: EvalResult, console: Console | None = None) -> None:
    if console is None:  # pipes and CI logs get 80 columns by default: too narrow
        console = Console()
        console = Console(width=max(console.width, 130))
    console.print(table(result))
    if "warning" in result.info:
        console.print(f"[yellow]warning:[/yellow] {result.info['warning']}")


def write_csv(result: EvalResult, path: Path) -> None:
    rows = [asdict(row) for row in result.rows]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], "embedding_model", "vocoder"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "embedding_model": result.info["embedding_model"],
                             "vocoder": result.info["vocoder"]})


def plot_bars(result: EvalResult, path: Path) -> None:
    """One bar chart per metric, bars in Table IV order, the embedding model in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [row.label.replace(" Multimodal Input", "") for row in result.rows]
    figure, axes = plt.subplots(1, len(COLUMNS), figsize=(3.2 * len(COLUMNS), 3.6))
    colours = [MODE_COLOURS.get(row.mode, "#9e9e9e") for row in result.rows]
    for axis, (key, header, _) in zip(axes, COLUMNS, strict=True):
        values = [getattr(row, key) for row in result.rows]
        errors = [getattr(row, f"{key}_std", 0.0) for row in result.rows]
        axis.bar(labels, values, yerr=errors, color=colours, capsize=3)
        axis.set_title(header)
        axis.tick_params(axis="x", labelrotation=30)
    figure.suptitle(f"Art2Music input ablation — {result.info['clips']} clips; embeddings: "
                    f"{result.info['embedding_model'].split(' (')[0]}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_all(result: EvalResult, out: Path) -> dict[str, Path]:
    """Writes ``metrics.csv``, ``metrics.json`` and ``metrics.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "metrics.csv", "json": out / "metrics.json", "png": out / "metrics.png"}
    write_csv(result, paths["csv"])
    paths["json"].write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    plot_bars(result, paths["png"])
    return paths
