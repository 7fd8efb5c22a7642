"""The torch side of each bundle graph: wrapper modules, example inputs and I/O names."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from core.audio_config import AudioConfig
from core.mel import log_mel
from engine.manifest import DECODER, DECODER_STEP, FEELINGS, IMAGE_ENCODER, VOCODER
from export.onnx_export import GraphSource


class ZeroShotFeelings(nn.Module):
    """CLIP zero-shot emotion scores: softmax(scale · image · Eᵀ) over K emotion prompts.

    ``class_embeddings`` [K, D] are unit text embeddings of emotion prompts (averaged over
    templates); the image embedding is re-normalised inside the graph.
    """

    def __init__(self, class_embeddings: torch.Tensor, logit_scale: float) -> None:
        super().__init__()
        self.register_buffer("class_embeddings", class_embeddings.float())
        self.logit_scale = float(logit_scale)

    def forward(self, image_embedding: torch.Tensor) -> torch.Tensor:
        image = nn.functional.normalize(image_embedding, dim=-1)
        return torch.softmax(self.logit_scale * image @ self.class_embeddings.t(), dim=-1)


class HeadFeelings(nn.Module):
    """A provided emotion head (image embedding → K logits), followed by a softmax."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, image_embedding: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(image_embedding), dim=-1)


def example_log_mel(audio: AudioConfig, frames: int, seed: int = 0) -> torch.Tensor:
    """A music-like natural-log Mel [1, n_mels, frames]: a decaying chord with a melody on top."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames * audio.hop_length) / audio.sample_rate
    notes = 220.0 * 2 ** (rng.integers(0, 12, size=4) / 12)
    wave = sum(np.sin(2 * np.pi * f * t) * np.exp(-t * (i + 1)) for i, f in enumerate(notes))
    wave = wave + 0.3 * np.sin(2 * np.pi * 880.0 * t * (1 + 0.01 * np.sin(3 * t)))
    wave = (0.3 * wave / np.abs(wave).max()).astype(np.float32)
    return torch.from_numpy(log_mel(wave, audio)[None])


def receptive_field_frames(module: nn.Module, audio: AudioConfig, probe_frames: int = 96) -> int:
    """Mel frames on each side that influence a frame's samples (perturbation of one frame)."""
    mel = example_log_mel(audio, probe_frames, seed=1)
    centre = probe_frames // 2
    with torch.no_grad():
        before = module(mel).reshape(-1)
        mel[..., centre] += 1.0
        after = module(mel).reshape(-1)
    diff = (after - before).abs()
    if float(diff.max()) == 0.0:
        return 0
    # Relative threshold: Winograd-style kernels may touch outputs outside the field at 1e-7.
    changed = torch.nonzero(diff > float(diff.max()) * 1e-5).reshape(-1)
    hop = audio.hop_length
    left = centre - int(changed.min()) // hop
    right = int(changed.max()) // hop - centre
    span = max(left, right)
    return probe_frames if span >= centre - 1 else int(math.ceil(span))


def unit_vector(dim: int, seed: int) -> torch.Tensor:
    vector = torch.randn(1, dim, generator=torch.Generator().manual_seed(seed))
    return nn.functional.normalize(vector, dim=-1)


def image_source(module: nn.Module, pixels: torch.Tensor,
                 output_names: tuple[str, ...] = ("image_embedding",)) -> GraphSource:
    """The image tower; its first output is the embedding, any others (class probabilities,
    colour features) are read by the engine's art commentary."""
    return GraphSource(IMAGE_ENCODER, module, (pixels,), ("pixels",), tuple(output_names))


def decoder_source(model: nn.Module, image: torch.Tensor, text: torch.Tensor) -> GraphSource:
    """Projector + BiLSTM decoder in one graph, batch 1, fixed 896 frames; off TensorRT."""
    return GraphSource(DECODER, model, (image, text), ("image_embedding", "text_embedding"),
                       ("mel",), tensorrt=False)


class TokenCondition(nn.Module):
    """Eq. (1)'s projector followed by the token decoder's condition layer: embeddings → [1, H]
    (and, with a tempo head, the tempo-class logits of that condition; with `palette`, the
    palette head's log q(c | image) [1, size] of the image embedding alone)."""

    def __init__(self, model: nn.Module, palette: bool = False) -> None:
        super().__init__()
        self.projector = model.projector
        self.decoder = model.decoder
        self.palette = palette

    def forward(self, image: torch.Tensor, text: torch.Tensor):
        cond = self.decoder.condition(self.projector(image, text))
        outputs = [cond]
        if self.decoder.tempo_head is not None:
            outputs.append(self.decoder.tempo_logits(cond))
        if self.palette:
            outputs.append(self.decoder.palette(image))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


class TokenStep(nn.Module):
    """One sampled frame of the token decoder (TokenMelDecoder.step) as a pure function; the
    beat clock, the guidance scale, the repetition prior's lagged codes and strengths and the
    palette prior's log q and strength are inputs (in that order) when the model or the export
    has them."""

    def __init__(self, decoder: nn.Module, guided: bool, repeats: bool = False,
                 palette: bool = False) -> None:
        super().__init__()
        self.decoder = decoder
        self.clock = bool(decoder.config.beat_features)
        self.guided = guided
        self.repeats = repeats
        self.palette = palette

    def forward(self, previous, cond, h0, c0, noise, inverse_temperature, *extra):
        extra = list(extra)
        beat = extra.pop(0) if self.clock else None
        guidance = extra.pop(0) if self.guided else None
        lagged, repeat = (extra.pop(0), extra.pop(0)) if self.repeats else (None, None)
        palette, strength = (extra.pop(0), extra.pop(0)) if self.palette else (None, None)
        return self.decoder.step(previous, cond, h0, c0, noise, inverse_temperature, beat,
                                 guidance, lagged, repeat, palette, strength)


def token_decoder_sources(model: nn.Module, image: torch.Tensor, text: torch.Tensor,
                          guided: bool = False, repeats: bool = False,
                          palette: bool = False) -> tuple[GraphSource, GraphSource]:
    """The condition graph (``decoder``) and the one-frame step graph (``decoder_step``), both
    off TensorRT (LSTM, see MODEL_NOTES.md) and kept in fp32 (a rounded logit may pick another
    code, which the parity gate would rightly refuse). `guided`: the step graph runs the
    conditional and the null branch side by side (state batch 2) and takes a ``guidance``
    scale. `repeats`: it takes the repetition prior's ``lagged_codes`` and ``repeat`` strengths.
    `palette`: the condition graph also returns the palette head's ``palette`` (log q of the
    image embedding) and the step graph takes it with a ``palette_strength`` [1]."""
    decoder = model.decoder
    config = decoder.config
    condition = TokenCondition(model, palette).eval()
    with torch.no_grad():
        outputs = condition(image, text)
    cond = outputs[0] if isinstance(outputs, tuple) else outputs
    previous, h0, c0 = decoder.initial_state(1, guided)
    generator = torch.Generator().manual_seed(0)
    h0 = torch.randn(h0.shape, generator=generator) * 0.1
    c0 = torch.randn(c0.shape, generator=generator) * 0.1
    previous = torch.randint(0, config.codebook_size, previous.shape, generator=generator)
    noise = torch.zeros(1, config.stages, config.codebook_size)
    inverse = torch.tensor([1.0 / t for t in config.temperatures])
    inputs = [previous, cond, h0, c0, noise, inverse]
    names = ["previous_codes", "condition", "h0", "c0", "noise", "inverse_temperature"]
    if config.beat_features:
        inputs.append(torch.randn(1, config.beat_features, generator=generator))
        names.append("beat")
    if guided:
        inputs.append(torch.tensor([2.0]))
        names.append("guidance")
    if repeats:
        inputs += [torch.randint(0, config.codebook_size, (1, config.stages), generator=generator),
                   torch.full((config.stages,), 2.0)]
        names += ["lagged_codes", "repeat"]
    if palette:
        inputs += [torch.log_softmax(torch.randn(1, config.codebook_size, generator=generator), -1),
                   torch.tensor([1.0])]
        names += ["palette", "palette_strength"]
    step = GraphSource(DECODER_STEP, TokenStep(decoder, guided, repeats, palette).eval(),
                       tuple(inputs),
                       tuple(names), ("codes", "mel_frame", "h1", "c1"),
                       tensorrt=False, fp16=False)
    condition_outputs = (("condition",) + (("tempo_logits",) if config.tempo_bpm else ())
                         + (("palette",) if palette else ()))
    return (GraphSource(DECODER, condition, (image, text), ("image_embedding", "text_embedding"),
                        condition_outputs, tensorrt=False, fp16=False), step)


def vocoder_source(generator: nn.Module, audio: AudioConfig, frames: int = 64) -> GraphSource:
    return GraphSource(VOCODER, generator, (example_log_mel(audio, frames),), ("log_mel",),
                       ("audio",), {"log_mel": {2: "frames"}, "audio": {2: "samples"}})


def feelings_source(module: nn.Module, image: torch.Tensor) -> GraphSource:
    return GraphSource(FEELINGS, module, (image,), ("image_embedding",), ("scores",))
