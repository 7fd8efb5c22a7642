"""PyTorch port of musicnn's MTT_musicnn tagger (Pons & Serra, 2019), loading its shipped weights.

The weights are musicnn 0.1.0's TF1 checkpoint, dumped once by
:mod:`training.evaluation.convert_musicnn` to ``assets/embedders/musicnn_mtt.safetensors``
(original TF names and layouts; the mapping lives in :func:`_load_state`). The port is checked
against TF reference outputs in ``tests/training/test_eval_musicnn.py`` (max abs error < 1e-3).

Front end (musicnn ``extractor.batch_data``): mono audio at 16 kHz, power Mel
``M = |STFT_512,hop 256|² · mel_96`` (librosa defaults: Hann, centred, Slaney Mel), cast to
float16 as musicnn does, then ``x = log10(10000 · M + 1)``; cut into non-overlapping patches of
187 frames (3 s). musicnn evaluates ``10000 · M`` in float16, which overflows to inf when
``M > 6.55``. That is common in real recordings (38 of 74 patches of eight game-music tracks
checked here); the TF graph then turns the patch into NaNs that max pooling partly drops, and
its taggram collapses to the same constant whatever the music (guitar 0.37, indian 0.28, …).
The port keeps musicnn's float16 arithmetic bit for bit wherever it is finite and computes
``log10(10000 · M + 1)`` in float32 where it is not. Clips shorter than one patch are
repeat-padded (musicnn's training ``pad_short``).

Network (``models.build_musicnn`` with 1.6× front-end filters, 64 mid-end filters, 200 units),
every conv followed by ReLU then inference-mode batch norm ``γ (x − μ) / √(σ² + 10⁻³) + β``:

* front end on the batch-normalised patch [T=187, F=96]: timbral convs 204 × (7, 38) and
  204 × (7, 67) (time padded by 3, 'valid' in frequency), temporal convs 51 × (128, 1),
  51 × (64, 1), 51 × (32, 1) ('same', TF's asymmetric padding); each max-pooled over frequency
  and concatenated → 561 channels per frame;
* mid end: three 64-filter convs of width 7 over time, the 2nd and 3rd residual; the front end
  and the three outputs are concatenated → 753 channels per frame;
* back end: max and mean over time, interleaved as TF's flatten of [753, 2] → 1506, batch norm,
  dense 200 + ReLU + batch norm = the **penultimate** 200-d embedding, dense 50 → sigmoid tags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file
from torch import nn

ASSET_DIR = Path(__file__).resolve().parents[2] / "assets" / "embedders"
DEFAULT_WEIGHTS = ASSET_DIR / "musicnn_mtt.safetensors"

Layer = Literal["penultimate", "mean_pool", "max_pool", "taggram"]


@dataclass(frozen=True)
class MusicnnConfig:
    """musicnn's front-end constants (``configuration.py``) and MTT_musicnn layer widths."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    n_frames: int = 187
    timbral_filters: int = 204
    timbral_widths: tuple[int, ...] = (38, 67)
    temporal_filters: int = 51
    temporal_lengths: tuple[int, ...] = (128, 64, 32)
    midend_filters: int = 64
    backend_units: int = 200
    num_tags: int = 50
    bn_epsilon: float = 1e-3

    @property
    def frontend_channels(self) -> int:
        return (self.timbral_filters * len(self.timbral_widths)
                + self.temporal_filters * len(self.temporal_lengths))

    @property
    def feature_channels(self) -> int:
        return self.frontend_channels + 3 * self.midend_filters


# ---------------------------------------------------------------------------------------------
# Front end
# ---------------------------------------------------------------------------------------------

def log_mel(audio: np.ndarray, sample_rate: int, config: MusicnnConfig = MusicnnConfig()
            ) -> np.ndarray:
    """musicnn's input representation [frames, 96] (float32) of a mono waveform."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"musicnn expects mono audio, got shape {audio.shape}; mix down first.")
    if sample_rate != config.sample_rate:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=config.sample_rate)
    power = librosa.feature.melspectrogram(y=audio, sr=config.sample_rate,
                                           hop_length=config.hop_length, n_fft=config.n_fft,
                                           n_mels=config.n_mels).T
    half = power.astype(np.float16)
    with np.errstate(over="ignore", invalid="ignore"):
        exact = np.log10(np.float16(10000) * half + np.float16(1))  # musicnn's float16 maths
    wide = np.log10(10000.0 * half.astype(np.float32) + 1.0)
    return np.where(np.isfinite(exact), exact.astype(np.float32), wide).astype(np.float32)


def patches(mel: np.ndarray, config: MusicnnConfig = MusicnnConfig(), hop: int | None = None
            ) -> np.ndarray:
    """Patches [P, 187, 96] every ``hop`` frames (default: no overlap), as musicnn batches them.

    A Mel shorter than one patch is repeat-padded to 187 frames (one patch).
    """
    n = config.n_frames
    if mel.shape[0] == 0:
        raise ValueError("musicnn got an empty signal; pass at least one audio frame.")
    if mel.shape[0] < n:
        mel = np.tile(mel, (int(np.ceil(n / mel.shape[0])), 1))[:n]
    starts = range(0, mel.shape[0] - n + 1, hop or n)
    return np.stack([mel[s:s + n] for s in starts]).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

class FrozenBatchNorm(nn.Module):
    """Inference-mode TF batch norm over dimension ``dim``: γ (x − μ) / √(σ² + ε) + β."""

    def __init__(self, channels: int, dim: int, eps: float) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        for name in ("gamma", "beta", "moving_mean", "moving_variance"):
            self.register_buffer(name, torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [1] * x.dim()
        shape[self.dim] = -1
        scale = self.gamma * torch.rsqrt(self.moving_variance + self.eps)
        shift = self.beta - self.moving_mean * scale
        return x * scale.view(shape) + shift.view(shape)


class ConvBlock(nn.Module):
    """conv → ReLU → batch norm (channel dim 1), with explicit (TF-compatible) padding."""

    def __init__(self, conv: nn.Module, padding: tuple[int, ...], eps: float) -> None:
        super().__init__()
        self.conv, self.padding = conv, padding
        self.bn = FrozenBatchNorm(conv.out_channels, 1, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(F.pad(x, self.padding))))


class PooledConvBlock(ConvBlock):
    """Front-end block: conv → ReLU → batch norm → max over frequency, [B, 1, T, F] → [B, C, T].

    Computed as ``s · ReLU(max_f x) + b`` where the batch-norm scale s ≥ 0 (``min_f`` where
    s < 0): ReLU and rounding are monotone, so this equals the literal order exactly while the
    element-wise work on the [B, C, T, F] map shrinks to one max and one min.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv(F.pad(x, self.padding))
        bn = self.bn
        scale = bn.gamma * torch.rsqrt(bn.moving_variance + bn.eps)
        positive = (scale >= 0).view(1, -1, 1)
        extreme = torch.where(positive, conv.amax(dim=3), conv.amin(dim=3))
        return bn(F.relu(extreme))


@dataclass
class MusicnnOutput:
    """Per-patch outputs: tags [P, 50], penultimate [P, 200], mean/max pool [P, 753]."""

    taggram: torch.Tensor
    penultimate: torch.Tensor
    mean_pool: torch.Tensor
    max_pool: torch.Tensor


class MusicnnMTT(nn.Module):
    """MTT_musicnn: patches [B, 187, 96] → :class:`MusicnnOutput` (inference only)."""

    def __init__(self, config: MusicnnConfig = MusicnnConfig()) -> None:
        super().__init__()
        self.config = c = config
        eps = c.bn_epsilon
        self.input_bn = FrozenBatchNorm(1, 1, eps)
        # time padding (F.pad order: freq left/right, time top/bottom); TF 'same' puts the odd
        # extra row at the bottom.
        self.timbral = nn.ModuleList(
            PooledConvBlock(nn.Conv2d(1, c.timbral_filters, (7, int(w))), (0, 0, 3, 3), eps)
            for w in c.timbral_widths)
        self.temporal = nn.ModuleList(
            PooledConvBlock(nn.Conv2d(1, c.temporal_filters, (k, 1)),
                            (0, 0, (k - 1) // 2, k // 2), eps)
            for k in c.temporal_lengths)
        widths = (c.frontend_channels, c.midend_filters, c.midend_filters)
        self.midend = nn.ModuleList(
            ConvBlock(nn.Conv1d(w, c.midend_filters, 7), (3, 3), eps) for w in widths)
        self.pool_bn = FrozenBatchNorm(2 * c.feature_channels, 1, eps)
        self.dense = nn.Linear(2 * c.feature_channels, c.backend_units)
        self.dense_bn = FrozenBatchNorm(c.backend_units, 1, eps)
        self.output = nn.Linear(c.backend_units, c.num_tags)

    def forward(self, mel: torch.Tensor) -> MusicnnOutput:
        x = self.input_bn(mel.unsqueeze(1))  # [B, 1, T, F]
        front = torch.cat([block(x) for block in (*self.timbral, *self.temporal)],
                          dim=1)  # [B, 561, T]
        m1 = self.midend[0](front)
        m2 = self.midend[1](m1) + m1
        m3 = self.midend[2](m2) + m2
        features = torch.cat([front, m1, m2, m3], dim=1)  # [B, 753, T]
        max_pool, mean_pool = features.amax(dim=2), features.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=-1).flatten(1)  # TF flatten order
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        taggram = torch.sigmoid(self.output(penultimate))
        return MusicnnOutput(taggram, penultimate, mean_pool, max_pool)


def _load_state(model: MusicnnMTT, tensors: dict[str, np.ndarray], layers: dict) -> None:
    """Copies TF variables into the module, transposing to PyTorch layouts."""
    def bn(module: FrozenBatchNorm, scope: str) -> None:
        for name in ("gamma", "beta", "moving_mean", "moving_variance"):
            getattr(module, name).copy_(torch.from_numpy(tensors[f"{scope}/{name}"]))

    def conv(block: ConvBlock, names: dict) -> None:
        kernel = tensors[f"{names['conv']}/kernel"]  # [kh, kw, in, out]
        if isinstance(block.conv, nn.Conv1d):  # mid end: kw spans all channels, in == 1
            weight = kernel[:, :, 0, :].transpose(2, 1, 0)
        else:
            weight = kernel.transpose(3, 2, 0, 1)
        block.conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
        block.conv.bias.copy_(torch.from_numpy(tensors[f"{names['conv']}/bias"]))
        bn(block.bn, names["bn"])

    def dense(linear: nn.Linear, scope: str) -> None:
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(tensors[f"{scope}/kernel"].T)))
        linear.bias.copy_(torch.from_numpy(tensors[f"{scope}/bias"]))

    with torch.no_grad():
        bn(model.input_bn, layers["input_bn"]["bn"])
        blocks = [*model.timbral, *model.temporal, *model.midend]
        names = ["timbral_74", "timbral_77", "temporal_128", "temporal_64", "temporal_32",
                 "midend_1", "midend_2", "midend_3"]
        for block, name in zip(blocks, names, strict=True):
            conv(block, layers[name])
        bn(model.pool_bn, layers["pool_bn"]["bn"])
        dense(model.dense, layers["penultimate"]["dense"])
        bn(model.dense_bn, layers["penultimate"]["bn"])
        dense(model.output, layers["output"]["dense"])


def load_musicnn(weights: str | Path = DEFAULT_WEIGHTS) -> tuple[MusicnnMTT, dict]:
    """Builds MTT_musicnn from the converted safetensors file and its JSON description."""
    weights = Path(weights)
    description_path = weights.with_suffix(".json")
    if not weights.exists() or not description_path.exists():
        raise FileNotFoundError(
            f"musicnn weights {weights} (+ .json) are missing; run "
            "training/evaluation/convert_musicnn.py convert in a TensorFlow venv.")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    model = MusicnnMTT(MusicnnConfig(bn_epsilon=description["batch_norm_epsilon"]))
    _load_state(model, load_file(str(weights)), description["layers"])
    return model.eval(), description


class MusicnnEmbedder:
    """Audio → per-3-s-patch musicnn embeddings (for FAD) and clip embeddings (for cosine).

    ``layer`` picks the representation: ``penultimate`` (200-d, default), ``mean_pool`` /
    ``max_pool`` (753-d) or ``taggram`` (50 tag probabilities).
    """

    def __init__(self, weights: str | Path = DEFAULT_WEIGHTS, layer: Layer = "penultimate",
                 batch_size: int = 16) -> None:
        self.model, self.description = load_musicnn(weights)
        self.layer, self.batch_size = layer, batch_size
        self.config = self.model.config

    @cached_property
    def name(self) -> str:
        d = self.description
        return (f"musicnn {d['model']} {self.layer} (PyTorch port of PyPI musicnn {d['version']} "
                f"weights, {d['licence']}; 3 s patches at 16 kHz)")

    @property
    def tags(self) -> list[str]:
        return list(self.description["tags"])

    def run(self, audio: np.ndarray, sample_rate: int) -> MusicnnOutput:
        """All network outputs for the non-overlapping 3 s patches of one clip."""
        batch = torch.from_numpy(patches(log_mel(audio, sample_rate, self.config), self.config))
        outputs = []
        with torch.inference_mode():
            for start in range(0, batch.shape[0], self.batch_size):
                outputs.append(self.model(batch[start:start + self.batch_size]))
        return MusicnnOutput(*(torch.cat([getattr(o, f) for o in outputs])
                               for f in ("taggram", "penultimate", "mean_pool", "max_pool")))

    def embed_frames(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Embeddings [patches, D] of one clip (the per-frame set FAD is computed over)."""
        return getattr(self.run(audio, sample_rate), self.layer).numpy().astype(np.float64)

    def embed_clip(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """One vector [D] per clip: the mean of its patch embeddings."""
        return self.embed_frames(audio, sample_rate).mean(axis=0)

    def top_tags(self, audio: np.ndarray, sample_rate: int, k: int = 5
                 ) -> list[tuple[str, float]]:
        """The k most likely MTT tags of a clip (tag probabilities averaged over patches)."""
        scores = self.run(audio, sample_rate).taggram.mean(dim=0).numpy()
        order = np.argsort(-scores)[:k]
        return [(self.tags[i], float(scores[i])) for i in order]


def main(argv: list[str] | None = None) -> None:
    """``python -m training.evaluation.musicnn FILE...``: prints each file's top 5 MTT tags."""
    import argparse

    from core.audio_config import AudioConfig
    from core.mel import load_audio

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio read from each file")
    args = parser.parse_args(argv)
    embedder = MusicnnEmbedder()
    config = AudioConfig(sample_rate=embedder.config.sample_rate)
    for path in args.files:
        audio = load_audio(path, config, duration=args.seconds)
        tags = embedder.top_tags(audio, config.sample_rate)
        print(f"{path.name}: " + ", ".join(f"{tag} {score:.2f}" for tag, score in tags))


if __name__ == "__main__":
    main()
