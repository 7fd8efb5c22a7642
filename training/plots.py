"""PNG figures people would rather see than read: loss curves and Mel comparisons."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_loss_curves(history: dict[str, list], path: Path) -> None:
    """Training loss per step (raw and smoothed) and validation loss per epoch."""
    figure, axis = plt.subplots(figsize=(8, 4.5))
    steps, losses = history.get("train_step", []), history.get("train_loss", [])
    if losses:
        axis.plot(steps, losses, color="#9bbbd4", linewidth=0.8, label="train (step)")
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axis.plot(steps[window - 1 :], smooth, color="#1f5b8a", label=f"train (mean of {window})")
    if history.get("val_loss"):
        axis.plot(history["val_step"], history["val_loss"], "o-", color="#c0392b", label="validation")
    axis.set_xlabel("step")
    axis.set_ylabel("frequency-weighted L1 (eq. 2)")
    axis.set_title("Art2Music training")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_mel_pair(predicted: np.ndarray, reference: np.ndarray, path: Path,
                  title: str = "predicted vs reference") -> None:
    """Two normalised Mels [n_mels, T] side by side, like Fig. 4 of the paper."""
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    for axis, mel, name in zip(axes, (predicted, reference), ("generated", "reference"),
                               strict=True):
        image = axis.imshow(mel, origin="lower", aspect="auto", vmin=-1, vmax=1, cmap="magma")
        axis.set_title(name)
        axis.set_xlabel("frame")
    axes[0].set_ylabel("Mel bin")
    figure.colorbar(image, ax=axes, fraction=0.025)
    figure.suptitle(title)
    figure.savefig(path, dpi=110)
    plt.close(figure)
