"""Errors the engine raises; each message says what happened and what to do, in one sentence."""

from __future__ import annotations


class EngineError(RuntimeError):
    """Inference could not run (bad input, missing component, runtime failure)."""


class BundleError(EngineError):
    """A model bundle is missing, corrupt, tampered with or of an unsupported format."""
