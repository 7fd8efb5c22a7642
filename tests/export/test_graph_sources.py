"""Known answers for the torch side of the bundle graphs (export/graphs.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from core.audio_config import DEFAULT_AUDIO, AudioConfig
from core.mel import log_mel
from export.graphs import (
    HeadFeelings,
    ZeroShotFeelings,
    decoder_source,
    example_log_mel,
    feelings_source,
    image_source,
    receptive_field_frames,
    unit_vector,
    vocoder_source,
)


def _wave(audio: AudioConfig, frames: int, seed: int) -> np.ndarray:
    """The docstring's signal written out: four decaying notes from 220 Hz up, an 880 Hz line."""
    t = np.arange(frames * audio.hop_length) / audio.sample_rate
    semitones = np.random.default_rng(seed).integers(0, 12, size=4)
    wave = np.zeros_like(t)
    for i, s in enumerate(semitones):
        wave += np.sin(2 * np.pi * 220.0 * 2 ** (s / 12) * t) * np.exp(-(i + 1) * t)
    wave += 0.3 * np.sin(2 * np.pi * 880.0 * t * (1 + 0.01 * np.sin(3 * t)))
    return (0.3 * wave / np.max(np.abs(wave))).astype(np.float32)


@pytest.mark.parametrize("frames, seed", [(16, 0), (24, 3)])
def test_example_log_mel_is_the_log_mel_of_the_described_signal(frames, seed) -> None:
    mel = example_log_mel(DEFAULT_AUDIO, frames, seed)
    assert mel.dtype == torch.float32
    assert tuple(mel.shape) == (1, 80, frames)
    np.testing.assert_allclose(mel.numpy()[0], log_mel(_wave(DEFAULT_AUDIO, frames, seed)),
                               rtol=1e-4, atol=1e-4)


def test_example_log_mel_follows_the_audio_config() -> None:
    audio = AudioConfig(hop_length=128, n_mels=40)
    mel = example_log_mel(audio, 12, 2)
    assert tuple(mel.shape) == (1, 40, 12)
    np.testing.assert_allclose(mel.numpy()[0], log_mel(_wave(audio, 12, 2), audio), rtol=1e-4, atol=1e-4)


def test_example_log_mel_default_seed_is_zero() -> None:
    np.testing.assert_allclose(example_log_mel(DEFAULT_AUDIO, 8).numpy()[0],
                               log_mel(_wave(DEFAULT_AUDIO, 8, 0)), rtol=1e-4, atol=1e-4)


class _Reach(nn.Module):
    """Each output frame (hop samples) reads `left` frames before it and `right` after it."""

    def __init__(self, left: int, right: int, leak: float = 0.0) -> None:
        super().__init__()
        self.left, self.right, self.leak = left, right, leak
        self.conv = nn.Conv1d(80, 1, left + right + 1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        out = self.conv(nn.functional.pad(mel, (self.left, self.right)))
        out = out + self.leak * mel.sum()  # a far-reaching but negligible term
        return out.repeat_interleave(DEFAULT_AUDIO.hop_length, dim=-1)


@pytest.mark.parametrize("left, right, expected", [(0, 0, 0), (3, 0, 3), (0, 3, 3), (1, 4, 4),
                                                   (4, 1, 4), (2, 2, 2)])
def test_receptive_field_is_the_longer_side(left, right, expected) -> None:
    assert receptive_field_frames(_Reach(left, right), DEFAULT_AUDIO, probe_frames=20) == expected


def test_default_probe_is_96_frames() -> None:
    assert receptive_field_frames(_Reach(0, 46), DEFAULT_AUDIO) == 46
    assert receptive_field_frames(_Reach(47, 0), DEFAULT_AUDIO) == 96


@pytest.mark.parametrize("reach, expected", [(6, 6), (7, 16), (8, 16)])
def test_a_field_reaching_the_probe_edge_is_the_whole_probe(reach, expected) -> None:
    # probe 16 frames, perturbed frame 8: a reach of 7 frames touches the edge.
    assert receptive_field_frames(_Reach(0, reach), DEFAULT_AUDIO, probe_frames=16) == expected
    assert receptive_field_frames(_Reach(reach, 0), DEFAULT_AUDIO, probe_frames=16) == expected


def test_negligible_far_changes_are_ignored() -> None:
    # 1e-9 per unit against a local change of 1 per Mel bin (80 in all): far below 1e-5 relative.
    assert receptive_field_frames(_Reach(2, 1, leak=1e-9), DEFAULT_AUDIO, probe_frames=20) == 2
    # 1e-2: far above it, so every frame counts and the field is the whole probe.
    assert receptive_field_frames(_Reach(2, 1, leak=1e-2), DEFAULT_AUDIO, probe_frames=20) == 20


def test_a_module_that_ignores_its_input_has_no_field() -> None:
    class Constant(nn.Module):
        def forward(self, mel):
            return torch.ones(1, 1, mel.shape[-1] * 256)

    assert receptive_field_frames(Constant(), DEFAULT_AUDIO, probe_frames=20) == 0


def test_the_perturbation_is_one_frame_by_one() -> None:
    seen = []

    class Spy(nn.Module):
        def forward(self, mel):
            seen.append(mel.clone())
            return mel.sum(1, keepdim=True).repeat_interleave(256, dim=-1)

    assert receptive_field_frames(Spy(), DEFAULT_AUDIO, probe_frames=12) == 0
    assert len(seen) == 2
    assert tuple(seen[0].shape) == (1, 80, 12)
    np.testing.assert_allclose(seen[0].numpy()[0], log_mel(_wave(DEFAULT_AUDIO, 12, 1)),
                               rtol=1e-4, atol=1e-4)
    diff = (seen[1] - seen[0]).numpy()[0]
    expected = np.zeros((80, 12), dtype=np.float32)
    expected[:, 6] = 1.0
    np.testing.assert_allclose(diff, expected, atol=1e-5)


@pytest.mark.parametrize("dim, seed", [(4, 0), (16, 7)])
def test_unit_vector(dim, seed) -> None:
    vector = unit_vector(dim, seed)
    assert tuple(vector.shape) == (1, dim)
    assert float(vector.norm()) == pytest.approx(1.0, abs=1e-6)
    draw = torch.randn(1, dim, generator=torch.Generator().manual_seed(seed))
    np.testing.assert_allclose(vector.numpy(), (draw / draw.norm()).numpy(), rtol=1e-6)
    assert not torch.equal(unit_vector(dim, seed + 1), vector)


def test_graph_sources_names_and_axes() -> None:
    module = nn.Identity()
    pixels, image, text = torch.zeros(1, 3, 8, 8), torch.zeros(1, 4), torch.zeros(1, 5)
    src = image_source(module, pixels)
    assert (src.name, src.module, src.input_names, src.output_names) == \
        ("image_encoder", module, ("pixels",), ("image_embedding",))
    assert src.inputs[0] is pixels and len(src.inputs) == 1
    assert (src.dynamic_axes, src.tensorrt, src.fp16) == ({}, True, True)
    src = image_source(module, pixels, ["image_embedding", "class_probabilities"])
    assert src.output_names == ("image_embedding", "class_probabilities")
    src = decoder_source(module, image, text)
    assert (src.name, src.input_names, src.output_names, src.tensorrt, src.fp16) == \
        ("decoder", ("image_embedding", "text_embedding"), ("mel",), False, True)
    assert src.inputs[0] is image and src.inputs[1] is text and len(src.inputs) == 2
    assert src.module is module and src.dynamic_axes == {}
    src = feelings_source(module, image)
    assert (src.name, src.input_names, src.output_names, src.tensorrt) == \
        ("feelings", ("image_embedding",), ("scores",), True)
    assert src.inputs[0] is image and len(src.inputs) == 1
    assert src.module is module and (src.dynamic_axes, src.fp16) == ({}, True)


def test_vocoder_source() -> None:
    module = nn.Identity()
    src = vocoder_source(module, DEFAULT_AUDIO)
    assert (src.name, src.input_names, src.output_names, src.tensorrt, src.fp16) == \
        ("vocoder", ("log_mel",), ("audio",), True, True)
    assert src.module is module and len(src.inputs) == 1
    assert src.dynamic_axes == {"log_mel": {2: "frames"}, "audio": {2: "samples"}}
    assert tuple(src.inputs[0].shape) == (1, 80, 64)
    np.testing.assert_allclose(src.inputs[0].numpy()[0], log_mel(_wave(DEFAULT_AUDIO, 64, 0)),
                               rtol=1e-4, atol=1e-4)
    assert tuple(vocoder_source(module, DEFAULT_AUDIO, frames=10).inputs[0].shape) == (1, 80, 10)


def test_zero_shot_scores_by_hand() -> None:
    classes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=torch.float64)
    module = ZeroShotFeelings(classes, 10)
    assert module.class_embeddings.dtype == torch.float32
    assert isinstance(module.logit_scale, float)
    assert "class_embeddings" in dict(module.named_buffers())
    image = torch.tensor([[[3.0, 4.0]], [[0.0, -2.0]]])  # batch of two [1, 2] rows
    logits = np.array([[6.0, 8.0, 10.0], [0.0, -10.0, -8.0]])
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(module(image).numpy()[:, 0], expected, rtol=1e-5)


def test_head_feelings_softmax_over_the_last_axis() -> None:
    head = nn.Linear(2, 3)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        head.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    module = HeadFeelings(head)
    assert module.head is head
    x = torch.tensor([[[1.0, 2.0]], [[0.0, 0.0]]])
    logits = np.array([[1.0, 3.0, 2.0], [0.0, 1.0, -1.0]])
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(module(x).detach().numpy()[:, 0], expected, rtol=1e-5)


class _Scripted(nn.Module):
    """Outputs zeros on the first call and `pattern` on the second, so the measured change is
    exactly `pattern`."""

    def __init__(self, pattern: torch.Tensor) -> None:
        super().__init__()
        self.pattern, self.calls = pattern, 0

    def forward(self, mel):
        self.calls += 1
        return torch.zeros_like(self.pattern) if self.calls == 1 else self.pattern.clone()


def _pattern(frames: int = 20) -> torch.Tensor:
    pattern = torch.zeros(1, 1, frames * 256)
    pattern[..., 10 * 256:11 * 256] = 1.0  # the perturbed frame itself
    return pattern


def test_a_change_at_exactly_the_relative_threshold_does_not_count() -> None:
    pattern = _pattern()
    pattern[..., :256] = 1e-5  # frame 0: exactly 1e-5 of the largest change (float32)
    assert receptive_field_frames(_Scripted(pattern), DEFAULT_AUDIO, probe_frames=20) == 0
    pattern[..., :256] = 2e-5
    assert receptive_field_frames(_Scripted(pattern), DEFAULT_AUDIO, probe_frames=20) == 20


def test_frames_are_counted_whole_from_the_first_changed_sample() -> None:
    # First change 10 samples into frame 1: frame 1 counts, a reach of 9 = centre - 1 frames,
    # which touches the probe's edge, so the field is the whole probe.
    pattern = _pattern()
    pattern[..., 256 + 10:10 * 256] = 0.5
    assert receptive_field_frames(_Scripted(pattern), DEFAULT_AUDIO, probe_frames=20) == 20
    pattern = _pattern()
    pattern[..., 2 * 256 + 10:10 * 256] = 0.5  # from inside frame 2: a reach of 8 frames
    assert receptive_field_frames(_Scripted(pattern), DEFAULT_AUDIO, probe_frames=20) == 8
