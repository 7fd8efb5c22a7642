"""training.evaluation.vocoder_floor: the flatness and FAD that the vocoders alone add."""

import numpy as np
import pytest

from training.evaluation.vocoder_floor import through_codebook, vocoder_floor


def test_a_codebook_holding_the_frames_gives_them_back():
    rng = np.random.default_rng(0)
    frames = rng.uniform(-0.9, 0.9, size=(6, 80)).astype(np.float32)
    books = np.stack([frames, np.zeros_like(frames)])  # stage 2: nothing left to add
    np.testing.assert_allclose(through_codebook(frames.T, books), frames.T, atol=1e-6)


def test_noise_is_flatter_than_a_tone_recorded_and_vocoded(tiny_bundle):
    from engine import Engine

    engine = Engine.load(tiny_bundle, warmup=False)
    rate = engine.audio.sample_rate
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = np.random.default_rng(1).normal(0, 0.1, rate).astype(np.float32)
    result = vocoder_floor(engine, [tone, noise])
    assert result["clips"] == 2 and "fad_vs_other_half" not in result
    assert set(result["flatness"]) >= {"recorded", "full"}
    assert result["flatness_median"]["recorded"] > 0
    only_tone = vocoder_floor(engine, [tone])["flatness"]
    assert only_tone["recorded"] < result["flatness"]["recorded"]  # noise raised the mean


def test_each_vocoder_is_also_measured_on_the_codebook_mel(tiny_bundle):
    from engine import Engine

    engine = Engine.load(tiny_bundle, warmup=False)
    rate = engine.audio.sample_rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    books = np.random.default_rng(2).uniform(-1, 1, size=(2, 8, 80))
    flatness = vocoder_floor(engine, [tone], books=books)["flatness"]
    vocoders = {name for name in flatness if name not in ("recorded",)
                and not name.startswith("codebook+")}
    assert {f"codebook+{name}" for name in vocoders} == {n for n in flatness if "+" in n}
    assert flatness["codebook+full"] != flatness["full"]


def test_every_audio_listen_proxy_is_reported_and_a_tone_has_one_pitch_class(tiny_bundle):
    from engine import Engine
    from training.evaluation.musicality import AUDIO_MEASURES

    engine = Engine.load(tiny_bundle, warmup=False)
    rate = engine.audio.sample_rate
    t = np.arange(2 * rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = np.random.default_rng(3).normal(0, 0.1, 2 * rate).astype(np.float32)
    tone_only = vocoder_floor(engine, [tone])["measures"]
    with_noise = vocoder_floor(engine, [tone, noise])["measures"]
    assert set(tone_only["recorded"]) == set(AUDIO_MEASURES)
    assert tone_only["recorded"]["pitch_class_entropy"] < 0.5  # an A held: one pitch class
    assert with_noise["recorded"]["pitch_class_entropy"] > tone_only["recorded"]["pitch_class_entropy"]
    assert with_noise["recorded"]["spectral_flatness"] == pytest.approx(
        vocoder_floor(engine, [tone, noise])["flatness"]["recorded"])
