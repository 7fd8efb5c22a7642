"""Untrained open_clip towers are the same in every process and leave the caller's RNG alone."""

from __future__ import annotations

import torch

from tests.conftest import register_tiny_open_clip
from training.encoders import EncoderSpec
from training.encoders.open_clip_encoder import OpenClipEncoder


def test_untrained_towers_get_the_same_weights_each_time_without_moving_the_global_rng():
    register_tiny_open_clip()
    spec = EncoderSpec("open_clip", "tiny-ViT")
    torch.manual_seed(123)
    first = OpenClipEncoder(spec)
    after_first = torch.rand(3)
    torch.manual_seed(123)
    second = OpenClipEncoder(spec)
    assert torch.equal(torch.rand(3), after_first)  # the caller's random stream is untouched
    first_state, second_state = first.model.state_dict(), second.model.state_dict()
    assert first_state.keys() == second_state.keys()
    assert all(torch.equal(first_state[k], second_state[k]) for k in first_state)
    torch.manual_seed(7)
    assert all(torch.equal(a, b) for a, b in zip(OpenClipEncoder(spec).model.state_dict().values(),
                                                 first_state.values(), strict=True))
