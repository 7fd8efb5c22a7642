"""Graph helpers: the vocoder receptive field that sets the streaming context."""

from __future__ import annotations

import torch
from torch import nn

from core.audio_config import DEFAULT_AUDIO
from export.graphs import receptive_field_frames


class _Upsampler(nn.Module):
    """A convolution over `kernel` frames, then each frame repeated hop times."""

    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(80, 1, kernel, padding=kernel // 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.conv(mel).repeat_interleave(DEFAULT_AUDIO.hop_length, dim=-1)


class _Global(nn.Module):
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - mel.mean()).mean(1, keepdim=True).repeat_interleave(256, dim=-1)


def test_receptive_field_of_a_convolution_is_half_its_kernel():
    torch.manual_seed(0)
    assert receptive_field_frames(_Upsampler(1), DEFAULT_AUDIO) == 0
    assert receptive_field_frames(_Upsampler(5), DEFAULT_AUDIO) == 2
    assert receptive_field_frames(_Upsampler(9), DEFAULT_AUDIO) == 4


def test_a_global_operation_needs_the_whole_piece_as_context():
    assert receptive_field_frames(_Global(), DEFAULT_AUDIO, probe_frames=64) == 64


def test_hifigan_field_is_a_few_frames():
    from tests.export.bundle_fixture import tiny_generator

    generator = tiny_generator()
    assert 3 <= receptive_field_frames(generator, DEFAULT_AUDIO, probe_frames=48) <= 6
