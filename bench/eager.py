"""The bundle's own weights in PyTorch eager, for the engine-vs-eager ratio.

Found through the manifest's provenance (checkpoint path, vocoder choice); absent when torch or
those files are not on this machine (a kiosk PC), in which case the benchmark skips the column.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.manifest import GRIFFIN_LIM, Manifest

logger = logging.getLogger(__name__)


class EagerPipeline:
    """encode_image / encode_text / generate_mel / vocode with torch modules, batch 1."""

    def __init__(self, manifest: Manifest, bundle_dir: Path | None = None) -> None:
        import torch

        import training.encoders.torchvision_ops  # noqa: F401  (before open_clip)
        from core.mel import denormalize
        from export.checkpoint import load_run
        from export.vocoder import load_vocoder
        from training.encoders import EncoderSpec, create_encoder

        self._torch = torch
        self._denormalize = denormalize
        self.manifest = manifest
        run = load_run(_provenance_path(manifest.provenance["checkpoint"], bundle_dir))
        self.model = run.model()
        specs = {role: EncoderSpec.from_dict(manifest.encoders[role]) for role in ("image", "text")}
        for role, spec in specs.items():
            if spec.family == "open_clip" and spec.pretrained is None:
                logger.warning("eager %s encoder %s has no weight file: a fresh random "
                               "initialisation, not the bundle's weights, so its max |Δ| is "
                               "meaningless (timing is still valid); build untrained bundles "
                               "with `python -m bench.untrained`", role, spec.name)
        self.image_encoder = create_encoder(specs["image"])
        self.text_encoder = create_encoder(specs["text"])
        choice = (manifest.provenance.get("vocoder") or {}).get("choice")
        self.generator = None
        if choice and choice != GRIFFIN_LIM:
            local = _provenance_path(choice, bundle_dir)
            if local is not None and local.exists():
                choice = local
            self.generator = load_vocoder(choice, manifest.audio).generator

    @property
    def has_vocoder(self) -> bool:
        return self.generator is not None

    def encode_image(self, rgb: np.ndarray) -> np.ndarray:
        return self.image_encoder.encode_images([rgb])[0]

    def encode_text(self, prompt: str) -> np.ndarray:
        return self.text_encoder.encode_texts([prompt])[0]

    def generate_mel(self, image: np.ndarray, text: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            mel = self.model(torch.from_numpy(image[None]), torch.from_numpy(text[None]))[0]
        return self._denormalize(mel.numpy(), self.manifest.mel_norm)

    def vocode(self, log_mel: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            return self.generator(torch.from_numpy(log_mel[None])).reshape(-1).numpy()


def _provenance_path(value: str | None, bundle_dir: Path | None) -> Path | None:
    """A provenance path (relative to the bundle directory, or absolute in older bundles)."""
    if not value:
        return None
    return Path(bundle_dir) / value if bundle_dir is not None else Path(value)


def load_eager(manifest: Manifest, bundle_dir: Path | None = None) -> EagerPipeline | None:
    """The eager pipeline, or None (with the reason logged) when it cannot be built here."""
    checkpoint = _provenance_path(manifest.provenance.get("checkpoint"), bundle_dir)
    if checkpoint is None or not checkpoint.is_file():
        logger.warning("no PyTorch eager column: checkpoint %s is not on this machine", checkpoint)
        return None
    try:
        return EagerPipeline(manifest, bundle_dir)
    except ImportError as error:
        logger.warning("no PyTorch eager column: %s", error)
    except Exception as error:  # a missing encoder weight file, a changed config, ...
        reason = str(error).splitlines()[0][:200]
        logger.warning("no PyTorch eager column: the run cannot be loaded (%s)", reason)
    return None
