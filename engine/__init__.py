"""Inference engine: runs an exported model bundle with onnxruntime, without torch.

Public API (docs/CONTRACTS.md)::

    from engine import Engine, EngineError, BundleError
    engine = Engine.load(bundle_dir, providers=None)   # TensorRT → CUDA → CPU
"""

from engine.engine import Engine
from engine.errors import BundleError, EngineError
from engine.piece import Piece

__all__ = ["BundleError", "Engine", "EngineError", "Piece"]
