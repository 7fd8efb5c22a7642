"""What the bundle needs from an encoder object: its towers, preprocessing and tokenizer.

Works with any encoder of training.encoders (open_clip, sentence_transformers, perceptual, or a
new family) that exposes ``image_module()`` / ``text_module()`` and describes its inputs:
- image: open_clip's ``model.visual.preprocess_cfg``, or attributes ``image_size``, ``mean``,
  ``std``, ``resize_mode`` (and optionally ``interpolation``), as the perceptual encoder has;
- text: open_clip's SimpleTokenizer, or a Hugging Face fast tokenizer (``tokenizer``
  attribute with ``backend_tokenizer``) and ``max_length``, as sentence-transformers has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip / transformers)
from engine.manifest import ImagePreprocess, TokenizerSpec
from engine.preprocess import RESIZE_MODES, preprocess_image
from engine.tokenize import load_tokenizer
from export.clip_tokenizer import clip_tokenizer_json, clip_tokenizer_spec
from export.errors import ExportError
from export.graphs import image_source
from export.onnx_export import GraphSource

SAMPLE_PROMPT = ("Art Commentary: the sea at dusk feels calm and a little lonely. Painting "
                 "Emotion: contentment, sadness. Audio: Music, Ambient music. Audio keywords: "
                 "slow piano, soft strings.")


def register_open_clip_configs(folders) -> None:
    """Makes extra open_clip model configs (folders of JSON files) known, e.g. a test model."""
    import open_clip

    for folder in folders:
        open_clip.add_model_config(folder)


def image_preprocess(encoder) -> ImagePreprocess:
    """The encoder's pixel preprocessing as the engine reproduces it."""
    visual = getattr(getattr(encoder, "model", None), "visual", None)
    cfg = getattr(visual, "preprocess_cfg", None)
    if cfg:
        size = cfg["size"]
        size = size if isinstance(size, int) else size[0]
        values = dict(size=size, mean=cfg["mean"], std=cfg["std"],
                      resize_mode=cfg.get("resize_mode", "shortest"),
                      interpolation=cfg.get("interpolation", "bicubic"))
    elif hasattr(encoder, "image_size") and hasattr(encoder, "mean"):
        values = dict(size=encoder.image_size, mean=encoder.mean, std=encoder.std,
                      resize_mode=getattr(encoder, "resize_mode", "shortest"),
                      interpolation=getattr(encoder, "interpolation", "bicubic"))
    else:
        raise ExportError(f"image encoder {type(encoder).__name__} describes no preprocessing; "
                          "give it image_size, mean, std and resize_mode attributes.")
    preprocess = ImagePreprocess.from_dict(values)
    if preprocess.resize_mode not in RESIZE_MODES:
        raise ExportError(f"resize mode {preprocess.resize_mode!r} of {type(encoder).__name__} is "
                          f"not reproduced by the engine; use one of {', '.join(RESIZE_MODES)}.")
    return preprocess


def example_image(seed: int = 0, height: int = 240, width: int = 320) -> np.ndarray:
    """A smooth random RGB uint8 picture (gradients + blobs), a stand-in for a painting."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [np.sin(2 * np.pi * (rng.uniform(0.5, 3) * x + rng.uniform(0.5, 3) * y)
                       + rng.uniform(0, 6)) for _ in range(3)]
    image = (np.stack(channels, -1) * 0.5 + 0.5) * 255
    return np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def image_graph(encoder, preprocess: ImagePreprocess) -> GraphSource:
    """The image tower with all its outputs (``image_output_names``, default the embedding)."""
    pixels = torch.from_numpy(preprocess_image(example_image(), preprocess))
    names = tuple(getattr(encoder, "image_output_names", ("image_embedding",)))
    return image_source(encoder.image_module(), pixels, names)


@dataclass
class TextGraph:
    """A text tower to export with the tokenizer that feeds it."""

    source: GraphSource
    tokenizer: TokenizerSpec
    tokenizer_json: str


def text_graph(encoder, graph: str, tokenizer_file: str, workdir) -> TextGraph:
    """The text tower of `encoder` as graph `graph`, with example inputs made by the engine's
    own tokenizer (so the export also checks the tokenizer round trip)."""
    tokenizer = getattr(encoder, "tokenizer", None)
    if hasattr(tokenizer, "bpe_ranks") and hasattr(tokenizer, "sot_token_id"):
        context = int(getattr(encoder, "context_length", tokenizer.context_length or 77))
        spec = clip_tokenizer_spec(tokenizer, tokenizer_file, context)
        text_json = clip_tokenizer_json(tokenizer)
        names, axes = ("tokens",), {}
        samples = [SAMPLE_PROMPT]
    elif hasattr(tokenizer, "backend_tokenizer") and hasattr(encoder, "max_length"):
        spec = TokenizerSpec(kind="hf", file=tokenizer_file, context_length=int(encoder.max_length),
                             pad_id=int(tokenizer.pad_token_id or 0))
        text_json = tokenizer.backend_tokenizer.to_str()
        names = ("input_ids", "attention_mask")
        axes = {name: {0: "batch", 1: "length"} for name in names}
        axes["text_embedding"] = {0: "batch"}
        samples = [SAMPLE_PROMPT, "a short one"]
    else:
        raise ExportError(f"text encoder {type(encoder).__name__} has a tokenizer the engine cannot "
                          "reproduce; use open_clip's CLIP BPE or a Hugging Face fast tokenizer.")
    path = workdir / tokenizer_file
    path.write_text(text_json, encoding="utf-8")
    feeds = load_tokenizer(path, spec).feeds(samples)
    inputs = tuple(torch.from_numpy(feeds[name]) for name in names)
    source = GraphSource(graph, encoder.text_module(), inputs, names, ("text_embedding",), axes)
    return TextGraph(source, spec, text_json)
