"""Vocoder hooks of `main.py eval`: Griffin-Lim and HiFi-GAN checkpoints behind one call."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from training.evaluation.vocoders import make_vocoder
from training.vocoder import Generator
from training.vocoder.config import TINY


def test_griffin_lim_vocoder_renders_hop_samples_per_frame():
    vocoder = make_vocoder("griffin-lim", griffin_lim_iters=2)
    audio = vocoder(np.full((80, 16), -4.0, np.float32))
    assert audio.shape == (16 * 256,) and "Griffin-Lim" in vocoder.name


def test_hifigan_run_directory_is_loaded_with_its_sidecar_config(tmp_path):
    torch.manual_seed(0)
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    save_file(Generator(TINY).state_dict(), str(checkpoints / "generator.safetensors"))
    (checkpoints / "generator.json").write_text(json.dumps({"config_name": "tiny",
                                                            "hifigan": TINY.to_dict()}))
    vocoder = make_vocoder(str(tmp_path))
    audio = vocoder(np.full((80, 8), -4.0, np.float32))
    assert audio.shape == (8 * 256,) and np.all(np.isfinite(audio))
    assert "HiFi-GAN tiny" in vocoder.name


def test_unknown_vocoder_path_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="griffin-lim"):
        make_vocoder(str(tmp_path / "nothing"))
