"""Encoder factory: one place that turns an EncoderSpec into an image or text encoder."""

from __future__ import annotations

from training.encoders.spec import EncoderSpec, ImageEncoder, TextEncoder

_cache: dict[tuple[EncoderSpec, str], object] = {}


def create_encoder(spec: EncoderSpec, device: str = "cpu"):
    """Builds (and caches per process) the encoder a spec names."""
    key = (spec, device)
    if key in _cache:
        return _cache[key]
    if spec.family == "open_clip":
        from training.encoders.open_clip_encoder import OpenClipEncoder

        encoder = OpenClipEncoder(spec, device)
    elif spec.family == "sentence_transformers":
        from training.encoders.sentence_encoder import SentenceTextEncoder

        encoder = SentenceTextEncoder(spec, device)
    elif spec.family == "perceptual":
        from training.encoders.perceptual import PerceptualImageEncoder

        encoder = PerceptualImageEncoder(spec)
    elif spec.family == "efficientnet":
        from training.encoders.efficientnet import EfficientNetImageEncoder

        encoder = EfficientNetImageEncoder(spec, device)
    else:
        raise ValueError(
            f"unknown encoder family {spec.family!r}; use open_clip, sentence_transformers, "
            "perceptual or efficientnet."
        )
    _cache[key] = encoder
    return encoder


__all__ = ["EncoderSpec", "ImageEncoder", "TextEncoder", "create_encoder"]
