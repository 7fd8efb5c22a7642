"""The shipped light vocoders: assets/vocoders/hifigan-v1-k3, v1-k3 distilled from the packaged
HiFi-GAN V1 on a 2-core CPU, and assets/vocoders/hifigan-v1-k3-music, that one fine-tuned on music
on a GPU (the bundle's light vocoder). They load by the exporter's own path and play music close
to V1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.audio_config import DEFAULT_AUDIO
from core.mel import load_audio, log_mel
from export.vocoder import load_vocoder
from training.evaluation.frame_buzz import frame_rate_buzz_db
from training.evaluation.metrics import mcd
from training.vocoder.generator import count_parameters
from training.vocoder.pretrained import load_generator

ROOT = Path(__file__).resolve().parents[1]
LIGHT = ROOT / "assets" / "vocoders" / "hifigan-v1-k3"
MUSIC = ROOT / "assets" / "vocoders" / "hifigan-v1-k3-music"
PIECE = ROOT / "assets" / "examples" / "renoir_bal_du_moulin_de_la_galette.wav"
FRAMES = 160

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def mel() -> np.ndarray:
    return log_mel(load_audio(PIECE, DEFAULT_AUDIO), DEFAULT_AUDIO)[:, :FRAMES]


def _play(generator, mel: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return generator(torch.from_numpy(mel)[None]).reshape(-1).numpy()


def test_it_is_v1_k3_with_its_record():
    sidecar = json.loads((LIGHT / "generator.json").read_text())
    assert sidecar["config_name"] == "v1-k3" and sidecar["teacher"] == "universal"
    assert sidecar["scores"][-1]["mcd_db"] < sidecar["scores"][0]["mcd_db"]
    assert "MIT" in sidecar["licence"]
    source = load_vocoder(LIGHT, DEFAULT_AUDIO)  # what main.py export / replace_vocoder do
    assert source.name == "hifigan-v1-k3"
    assert 4.4e6 < count_parameters(source.generator) < 4.6e6


def test_it_plays_music_close_to_v1(mel):
    light = load_generator(LIGHT / "generator.safetensors")
    v1 = load_generator("universal")
    light_audio, v1_audio = _play(light, mel), _play(v1, mel)
    assert light_audio.shape == v1_audio.shape == (FRAMES * DEFAULT_AUDIO.hop_length,)
    assert np.isfinite(light_audio).all() and 0.01 < np.abs(light_audio).max() <= 1.0
    to_v1 = mcd(log_mel(v1_audio), log_mel(light_audio))
    to_input = mcd(mel, log_mel(light_audio))
    v1_to_input = mcd(mel, log_mel(v1_audio))
    # measured: 1.2 dB from V1's audio; 1.3 dB from the input Mel where V1 is 0.9 dB
    assert to_v1 < 2.0
    assert to_input < v1_to_input + 1.0


def test_it_does_not_buzz_at_the_frame_rate(mel):
    """The first light vocoder (no frame-periodic term) buzzed 15 dB above V1 on this piece and
    pinned the chroma of most pieces on F or C (training/vocoder/distill.py)."""
    light = _play(load_generator(LIGHT / "generator.safetensors"), mel)
    v1 = _play(load_generator("universal"), mel)
    # measured: V1 0.6 dB, the first light vocoder 15.5, this one -3.0 (a slight notch instead)
    assert abs(frame_rate_buzz_db(light) - frame_rate_buzz_db(v1)) < 6.0


def test_the_music_fine_tune_starts_from_the_distilled_one_and_stays_close_to_v1(mel):
    sidecar = json.loads((MUSIC / "generator.json").read_text())
    assert sidecar["config_name"] == "v1-k3" and sidecar["step"] > 3000
    assert sidecar["init"].endswith("hifigan-v1-k3/generator.safetensors")
    assert sidecar["licence"].startswith("MIT: fine-tuned") and "universal" in sidecar["licence"]
    assert "optimizer_param_groups" not in sidecar  # shipped by training.vocoder.ship
    music = _play(load_vocoder(MUSIC, DEFAULT_AUDIO).generator, mel)
    v1 = _play(load_generator("universal"), mel)
    assert np.isfinite(music).all() and 0.01 < np.abs(music).max() <= 1.0
    # measured: 0.98 dB from V1's audio, 0.91 dB from the input Mel (V1 0.54)
    assert mcd(log_mel(v1), log_mel(music)) < 2.0 and mcd(mel, log_mel(music)) < 1.5
    # measured: 2.0 dB of frame-rate buzz, V1 1.1 (the distilled one -0.8)
    assert abs(frame_rate_buzz_db(music) - frame_rate_buzz_db(v1)) < 6.0


@pytest.mark.parametrize("light", [True, False], ids=["light", "v1"])
def test_the_bundles_vocoders_end_in_their_calibrated_shelf_above_8_khz(mel, light):
    """Both vocoders invent energy above the Mel's 8 kHz top band (export/hf_shelf.py); the
    bundle's graphs cut it by the amount calibrated on training clips, and nothing below."""
    from engine import Engine
    from export.hf_shelf import TRANSITION_HZ, energy_above_db

    bundle = ROOT / "assets" / "bundle"
    engine = Engine.load(bundle, providers=["cpu"], warmup=False, intra_op_threads=1)
    key = "vocoder_light" if light else "vocoder"
    provenance = engine.manifest.provenance[key]
    shelf = provenance["hf_shelf"]
    # measured on 16 training clips: the music light vocoder +15.9 dB, V1 +2.6 dB more than the
    # recordings (the distilled light vocoder: +5.4 dB)
    assert shelf["clips"] >= 16 and -20.0 < shelf["gain_db"] < -1.0
    engine.use_light_vocoder(light)
    shipped = engine.vocode(mel)
    source = (bundle / provenance["source"]).resolve() if light else "universal"
    if light:
        assert source == (MUSIC / "generator.safetensors").resolve()
    plain = _play(load_generator(source), mel)
    assert shipped.shape == plain.shape
    # past the transition band the cut is the calibrated one; across all of it a little less
    # (measured on the music light vocoder: 13.7 of 15.9 dB), as 8-8.4 kHz is only partly cut
    past = DEFAULT_AUDIO.fmax + TRANSITION_HZ / 2
    cut = (energy_above_db(plain, DEFAULT_AUDIO, past)
           - energy_above_db(shipped, DEFAULT_AUDIO, past))
    assert cut == pytest.approx(-shelf["gain_db"], abs=1.0)
    whole = energy_above_db(plain, DEFAULT_AUDIO) - energy_above_db(shipped, DEFAULT_AUDIO)
    assert 0.75 * cut < whole <= cut + 0.1
    assert mcd(log_mel(plain), log_mel(shipped)) < 0.3  # the Mel band as the generator plays it
