"""Loss-curve figure of a vocoder fine-tuning run (drawn without pyplot's global state)."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_loss_curve(log_path: Path, png_path: Path) -> Path | None:
    """Draws Mel L1 and the G/D losses from ``losses.jsonl``; None when nothing is logged yet."""
    if not log_path.is_file():
        return None
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    if not rows:
        return None
    steps = [r["step"] for r in rows]
    figure = Figure(figsize=(9, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    mel_axis, gan_axis = figure.subplots(1, 2)
    mel_axis.plot(steps, [r["mel_l1"] for r in rows], color="tab:blue")
    mel_axis.set(title="Mel L1 (log-Mel, unweighted)", xlabel="step")
    for key, colour in (("loss_g", "tab:green"), ("loss_d", "tab:red"), ("fm", "tab:orange")):
        gan_axis.plot(steps, [r[key] for r in rows], label=key, color=colour)
    gan_axis.set(title="GAN losses", xlabel="step")
    gan_axis.legend()
    figure.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = png_path.with_name(f".{png_path.name}.tmp.png")
    figure.savefig(tmp)
    tmp.replace(png_path)
    return png_path
