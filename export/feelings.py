"""The `feelings` graph: image embedding → probabilities over the nine ArtEmis emotions.

CLIP bundles score emotions zero-shot against text embeddings of emotion prompts (averaged over
a few templates, as CLIP's zero-shot classifiers are built). Other image encoders need a
provided head: a torch module or a safetensors file with ``weight`` [9, D] and ``bias`` [9].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from core.prompt import ARTEMIS_EMOTIONS
from export.errors import ExportError
from export.graphs import HeadFeelings, ZeroShotFeelings

TEMPLATES: tuple[str, ...] = (
    "a painting that makes people feel {}.",
    "an artwork that evokes {}.",
    "a picture full of {}.",
)
MAX_LOGIT_SCALE = 100.0


@dataclass
class FeelingsModule:
    module: nn.Module
    kind: str
    prompts: tuple[str, ...]


def zero_shot_feelings(clip_encoder) -> FeelingsModule:
    """Zero-shot head from an open_clip encoder's own text tower and logit scale."""
    prompts = tuple(t.format(e) for e in ARTEMIS_EMOTIONS for t in TEMPLATES)
    vectors = torch.from_numpy(clip_encoder.encode_texts(list(prompts)))
    classes = nn.functional.normalize(
        vectors.reshape(len(ARTEMIS_EMOTIONS), len(TEMPLATES), -1).mean(1), dim=-1)
    scale = float(clip_encoder.model.logit_scale.detach().exp().clamp(max=MAX_LOGIT_SCALE))
    return FeelingsModule(ZeroShotFeelings(classes, scale), "zero_shot", prompts)


def load_head(head: nn.Module | str | Path, image_dim: int) -> FeelingsModule:
    """A provided linear head (module or safetensors weights) mapping D → 9 emotion logits."""
    if not isinstance(head, nn.Module):
        tensors = load_file(str(head))
        if set(tensors) - {"weight", "bias"} or "weight" not in tensors:
            raise ExportError(f"feelings head {head} must hold `weight` [9, D] and `bias` [9]; "
                              "save an nn.Linear state dict with safetensors.")
        weight = tensors["weight"]
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in tensors)
        linear.load_state_dict(tensors)
        head = linear
    probe = head.eval()(torch.zeros(1, image_dim))
    if probe.shape != (1, len(ARTEMIS_EMOTIONS)):
        raise ExportError(f"feelings head maps {image_dim}-d embeddings to {tuple(probe.shape)}, "
                          f"not [1, {len(ARTEMIS_EMOTIONS)}]; give one logit per ArtEmis emotion.")
    return FeelingsModule(HeadFeelings(head), "linear_head", ())
