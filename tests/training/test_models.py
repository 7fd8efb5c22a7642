"""Projector (eq. 1), decoder shapes and the frequency-weighted loss (eq. 2)."""

import pytest
import torch

from training.losses import FrequencyWeightedL1, frequency_weights
from training.models import (
    Art2Music,
    Art2MusicConfig,
    GatedResidualProjector,
    InputMode,
    MelDecoder,
    ProjectorConfig,
    apply_input_mode,
)
from training.models.art2music import count_parameters
from training.models.decoder import DecoderConfig


def test_projector_paper_shapes():
    projector = GatedResidualProjector(ProjectorConfig())
    h = projector(torch.randn(3, 1024), torch.randn(3, 1024))
    assert h.shape == (3, 512)
    assert projector.w_x.in_features == 2048 and projector.w_g.in_features == 2048 + 512


def test_projector_implements_equation_1():
    torch.manual_seed(0)
    projector = GatedResidualProjector(ProjectorConfig(image_dim=8, text_dim=6, hidden_dim=4))
    image, text = torch.randn(2, 8), torch.randn(2, 6)
    x = torch.cat([image, text], -1)
    r = projector.w_r(text)
    gate = torch.sigmoid(projector.w_g(torch.cat([x, r], -1)))
    expected = gate * projector.w_x(x) + (1 - gate) * r
    torch.testing.assert_close(projector(image, text), expected)
    torch.testing.assert_close(projector.gate(image, text), gate)


def test_gate_open_passes_projection_and_closed_passes_text_residual():
    projector = GatedResidualProjector(ProjectorConfig(image_dim=4, text_dim=4, hidden_dim=4))
    image, text = torch.randn(1, 4), torch.randn(1, 4)
    x = torch.cat([image, text], -1)
    with torch.no_grad():
        projector.w_g.weight.zero_()
        projector.w_g.bias.fill_(50.0)  # σ → 1: h = W_x x
        torch.testing.assert_close(projector(image, text), projector.w_x(x))
        projector.w_g.bias.fill_(-50.0)  # σ → 0: h = r (identity when text_dim == hidden)
        torch.testing.assert_close(projector(image, text), text)


def test_gate_is_in_unit_interval():
    projector = GatedResidualProjector(ProjectorConfig(image_dim=8, text_dim=8, hidden_dim=16))
    gate = projector.gate(torch.randn(64, 8) * 10, torch.randn(64, 8) * 10)
    assert gate.min() >= 0 and gate.max() <= 1


def test_decoder_outputs_80_by_896_in_range():
    decoder = MelDecoder(DecoderConfig(hidden_dim=16, num_layers=4))
    mel = decoder(torch.randn(2, 512))
    assert mel.shape == (2, 80, 896)
    assert mel.abs().max() <= 1.0
    assert decoder.lstm.num_layers == 4 and decoder.lstm.bidirectional


def test_paper_parameter_counts():
    model = Art2Music(Art2MusicConfig())
    assert count_parameters(model.decoder.lstm) == 23_101_440
    assert 23.8e6 < count_parameters(model.decoder) < 24.0e6
    assert 2.8e6 < count_parameters(model.projector) < 3.0e6


def test_projector_width_mismatch_is_reported():
    bad = Art2MusicConfig(projector=ProjectorConfig(hidden_dim=256))
    with pytest.raises(ValueError, match="must equal decoder input_dim"):
        Art2Music(bad)


def test_loss_weights_follow_equation_2():
    weights = frequency_weights(80)
    assert weights[0].item() == pytest.approx(1.0)
    assert weights[-1].item() == pytest.approx(1.5)
    f = torch.arange(1, 81, dtype=torch.float32)
    torch.testing.assert_close(weights, 1.0 + 0.5 * (f - 1) / 79)


def test_loss_value_matches_equation_2():
    predicted, reference = torch.randn(2, 80, 7), torch.randn(2, 80, 7)
    expected = (frequency_weights(80).view(1, 80, 1) * (predicted - reference).abs()).sum() / (
        2 * 80 * 7
    )
    assert FrequencyWeightedL1()(predicted, reference).item() == pytest.approx(expected.item())


def test_loss_penalises_high_bins_more():
    loss = FrequencyWeightedL1()
    reference = torch.zeros(1, 80, 10)
    low, high = reference.clone(), reference.clone()
    low[:, 0] = 1.0
    high[:, -1] = 1.0
    assert loss(high, reference) == pytest.approx(1.5 * loss(low, reference).item())


def test_input_modes():
    image, text = torch.randn(4, 8), torch.randn(4, 6)
    i, t = apply_input_mode(image, text, InputMode.TEXT_ONLY)
    assert torch.all(i == 0) and torch.equal(t, text)
    i, t = apply_input_mode(image, text, "image-only")
    assert torch.equal(i, image) and torch.all(t == 0)
    generator = torch.Generator().manual_seed(1)
    i, t = apply_input_mode(image, text, "random", generator)
    assert i.shape == image.shape and not torch.equal(i, image)
