"""Inference engine: runs an exported model bundle with onnxruntime, without torch.

Public API (docs/CONTRACTS.md)::

    from engine import Engine, EngineError, BundleError
    engine = Engine.load(bundle_dir, providers=None)   # TensorRT → CUDA → CPU
"""

from engine.commentary import Commentary, Looks
from engine.engine import Engine
from engine.errors import BundleError, EngineError
from engine.growing_mel import GrowingMel
from engine.piece import Piece
from engine.reading import COMMENT_POLICY, PROMPT_FEELINGS, Reading, art_commentary, prompt_feelings

__all__ = ["COMMENT_POLICY", "PROMPT_FEELINGS", "BundleError", "Commentary", "Engine", "EngineError",
           "GrowingMel", "Looks", "Piece", "Reading", "art_commentary", "prompt_feelings"]
