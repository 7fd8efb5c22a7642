"""The engine runs a whole piece without importing torch, training or export."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_engine_composes_a_piece_without_torch(tiny_bundle):
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from engine import Engine
        engine = Engine.load({str(tiny_bundle)!r}, providers=["cpu"])
        piece = engine.compose(np.full((48, 64, 3), 200, np.uint8), "bright and happy")
        assert piece.audio().size == piece.samples
        loaded = sorted(m for m in ("torch", "training", "export") if m in sys.modules)
        print("LOADED", loaded)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout
