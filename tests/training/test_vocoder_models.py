"""HiFi-GAN building blocks: configs, generator lengths, discriminators, losses, the torch Mel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.audio_config import DEFAULT_AUDIO
from core.mel import log_mel
from training.vocoder.config import CONFIGS, HiFiGANConfig, get_config
from training.vocoder.discriminators import Discriminators
from training.vocoder.generator import Generator, count_parameters
from training.vocoder.losses import (
    TorchLogMel,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    mel_loss,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# Generator sizes of Kong et al. (2020), Table 1 (weight-norm g and v counted as parameters).
PAPER_PARAMS = {"v1": 13.92e6, "v2": 0.92e6, "v3": 1.46e6}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_generator_output_is_frames_times_hop(name):
    torch.manual_seed(0)
    generator = Generator(get_config(name)).eval()
    for frames in (1, 3):
        with torch.no_grad():
            audio = generator(torch.randn(2, 80, frames) - 4.0)
        assert audio.shape == (2, 1, frames * DEFAULT_AUDIO.hop_length)
        assert audio.abs().max() <= 1.0


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_parameter_counts_match_the_paper(name):
    count = count_parameters(Generator(get_config(name)))
    assert count == pytest.approx(PAPER_PARAMS[name], rel=0.02)


def test_registry_is_case_insensitive_and_rejects_unknown_names():
    assert get_config("V1") is CONFIGS["v1"]
    with pytest.raises(ValueError, match="Unknown HiFi-GAN config"):
        get_config("v9")


def test_config_round_trips_through_json_dict():
    import json

    for config in CONFIGS.values():
        assert HiFiGANConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
        config.check_audio(DEFAULT_AUDIO.hop_length, DEFAULT_AUDIO.n_mels)


def test_config_rejects_hop_mismatch():
    with pytest.raises(ValueError, match="hop"):
        get_config("v1").check_audio(hop_length=300, n_mels=80)


def test_weight_norm_removal_keeps_outputs_and_strips_parametrizations():
    torch.manual_seed(0)
    generator = Generator(get_config("v3")).eval()
    mel = torch.randn(1, 80, 6) - 4.0
    with torch.no_grad():
        before = generator(mel)
        generator.remove_weight_norm()
        after = generator(mel)
    assert not generator.has_weight_norm
    assert not any("parametrizations" in key for key in generator.state_dict())
    torch.testing.assert_close(after, before, atol=1e-5, rtol=0)


def test_discriminators_score_every_period_and_scale():
    config = get_config("tiny")
    discriminators = Discriminators(config)
    y, y_hat = torch.randn(2, 1, 2048), torch.randn(2, 1, 2048)
    real, fake, maps_r, maps_g = discriminators.mpd(y, y_hat)
    assert len(real) == len(fake) == len(config.mpd_periods)
    assert all(len(m) == 6 for m in maps_r)  # five conv layers + conv_post
    real, fake, maps_r, maps_g = discriminators.msd(y, y_hat)
    assert len(real) == 3 and all(len(m) == 8 for m in maps_g)  # seven conv layers + conv_post


def test_full_size_discriminators_match_the_paper_sizes():
    discriminators = Discriminators(get_config("v1"))
    assert count_parameters(discriminators.mpd) == pytest.approx(41.1e6, rel=0.01)
    assert count_parameters(discriminators.msd) == pytest.approx(29.6e6, rel=0.01)


def test_lsgan_and_feature_losses_vanish_at_their_optimum():
    ones, zeros = [torch.ones(2, 5)], [torch.zeros(2, 5)]
    assert discriminator_loss(ones, zeros).item() == 0.0
    assert discriminator_loss(zeros, ones).item() == 2.0
    assert generator_adversarial_loss(ones).item() == 0.0
    maps = [[torch.randn(2, 3, 4), torch.randn(2, 1, 4)]]
    assert feature_matching_loss(maps, maps).item() == 0.0
    shifted = [[m + 1.0 for m in maps[0]]]
    assert feature_matching_loss(maps, shifted).item() == pytest.approx(4.0)  # 2 × (1 + 1)
    assert mel_loss(torch.zeros(3), torch.ones(3)).item() == pytest.approx(45.0)


def _test_signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(256 * 40) / DEFAULT_AUDIO.sample_rate
    return {
        "tone+noise": 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size),
        "quiet noise": 0.01 * rng.standard_normal(t.size),
        "silence then tone": np.where(t < t[-1] / 2, 0.0, 0.3 * np.sin(2 * np.pi * 100 * t)),
        "silence": np.zeros(t.size),
    }


@pytest.mark.parametrize("name", list(_test_signals()))
def test_torch_mel_reproduces_core_log_mel(name):
    audio = _test_signals()[name].astype(np.float32)
    reference = log_mel(audio)
    ours = TorchLogMel()(torch.from_numpy(audio)[None])[0].numpy()
    assert ours.shape == reference.shape
    # Measured: ≤ 4e-6 in log units wherever the Mel magnitude exceeds 1e-3; near the 1e-5
    # floor float32 rounding of tiny magnitudes gives up to ~4e-3 in log units, 5e-7 absolute.
    loud = reference > np.log(1e-3)
    np.testing.assert_allclose(ours[loud], reference[loud], atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.exp(ours), np.exp(reference), atol=1e-5, rtol=0)


def test_torch_mel_gradient_is_finite_even_for_silence():
    audio = torch.zeros(1, 4096, requires_grad=True)
    TorchLogMel()(audio).sum().backward()
    assert torch.isfinite(audio.grad).all()
