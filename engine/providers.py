"""Execution-provider choice: TensorRT → CUDA → CPU, overridable, falling back with a log line."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import onnxruntime as ort

from engine.errors import EngineError

logger = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

PREFERENCE: tuple[str, ...] = (TENSORRT, CUDA, CPU)
"""Default order; CPU always ends the list so every graph can run somewhere."""

ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "gpu": CUDA, "cpu": CPU}


def canonical_name(name: str) -> str:
    """``tensorrt``/``trt``/``cuda``/``cpu`` or a full onnxruntime provider name → the full name."""
    if name in PREFERENCE:
        return name
    try:
        return ALIASES[name.strip().lower()]
    except KeyError:
        raise EngineError(
            f"unknown execution provider {name!r}; use tensorrt, cuda or cpu."
        ) from None


def available_providers() -> list[str]:
    """Providers compiled into the installed onnxruntime build."""
    return list(ort.get_available_providers())


def resolve_providers(requested: Sequence[str] | str | None = None,
                      available: Sequence[str] | None = None) -> list[str]:
    """The providers to use, in order: the requested (or default) ones this build has, then CPU.

    Each requested provider that is unavailable is logged, e.g. asking for TensorRT on a CPU
    build of onnxruntime logs the fallback and returns ``[CPUExecutionProvider]``.
    """
    available = list(available_providers() if available is None else available)
    if isinstance(requested, str):
        requested = [part for part in requested.split(",") if part.strip()]
    wanted = PREFERENCE if requested is None else tuple(canonical_name(n) for n in requested)
    chosen = [name for name in dict.fromkeys(wanted) if name in available]
    missing = [name for name in dict.fromkeys(wanted) if name not in available]
    if CPU not in chosen:
        chosen.append(CPU)
    if missing and requested is not None:
        logger.warning("execution provider(s) %s not available in this onnxruntime build (it has "
                       "%s); falling back to %s", ", ".join(missing), ", ".join(available),
                       ", ".join(chosen))
    elif missing:
        logger.info("using %s (%s not available)", ", ".join(chosen), ", ".join(missing))
    return chosen
