"""The export error: what went wrong and what to do, in one sentence."""

from __future__ import annotations


class ExportError(RuntimeError):
    """A checkpoint, encoder or vocoder cannot be exported, or a graph failed its parity check."""
