"""Known answers for reading a training run's checkpoint (export/checkpoint.py)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import save_file

from core.audio_config import AudioConfig, MelNormalization
from export.checkpoint import checkpoint_file, load_run
from export.errors import ExportError
from training.encoders import EncoderSpec
from training.models import Art2Music, Art2MusicConfig

IMAGE = {"family": "perceptual", "name": "v1", "pretrained": None}
TEXT = {"family": "sentence_transformers", "name": "all-MiniLM-L6-v2", "pretrained": None}


def _pair(folder, stem, sidecar=True):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.safetensors").write_bytes(b"w")
    if sidecar:
        (folder / f"{stem}.json").write_text("{}", encoding="utf-8")
    return folder / f"{stem}.safetensors"


def test_a_file_is_itself(tmp_path) -> None:
    weights = _pair(tmp_path, "anything", sidecar=False)
    assert checkpoint_file(weights) == weights
    assert checkpoint_file(str(weights)) == weights


def test_best_is_preferred_to_last(tmp_path) -> None:
    _pair(tmp_path / "checkpoints", "last")
    best = _pair(tmp_path / "checkpoints", "best")
    assert checkpoint_file(tmp_path) == best


def test_last_when_best_has_no_sidecar(tmp_path) -> None:
    _pair(tmp_path / "checkpoints", "best", sidecar=False)
    last = _pair(tmp_path / "checkpoints", "last")
    assert checkpoint_file(tmp_path) == last


def test_checkpoints_folder_before_the_run_folder(tmp_path) -> None:
    _pair(tmp_path, "best")
    inner = _pair(tmp_path / "checkpoints", "last")
    assert checkpoint_file(tmp_path) == inner


def test_the_checkpoints_folder_itself(tmp_path) -> None:
    last = _pair(tmp_path, "last")
    assert checkpoint_file(tmp_path) == last


def test_no_checkpoint_is_an_export_error(tmp_path) -> None:
    _pair(tmp_path / "checkpoints", "best", sidecar=False)
    _pair(tmp_path / "checkpoints", "final")
    with pytest.raises(ExportError):
        checkpoint_file(tmp_path)


def test_load_run_needs_the_sidecar(tmp_path) -> None:
    weights = _pair(tmp_path, "w", sidecar=False)
    with pytest.raises(ExportError):
        load_run(weights)


def _run(tmp_path, sidecar: dict, model: Art2Music | None = None):
    folder = tmp_path / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    if model is None:
        (folder / "best.safetensors").write_bytes(b"w")
    else:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(folder / "best.safetensors"))
    (folder / "best.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return load_run(tmp_path)


def test_sidecar_fields(tmp_path) -> None:
    config = Art2MusicConfig.tiny(image_dim=8, text_dim=6)
    run = _run(tmp_path, {"model_config": config.to_dict(), "encoders": {"image": IMAGE, "text": TEXT},
                          "audio": {"sample_rate": 16000, "hop_length": 200, "unknown": 1},
                          "mel_norm": {"log_min": -10, "log_max": 3}})
    assert run.weights == tmp_path / "checkpoints" / "best.safetensors"
    assert run.config == config
    assert run.encoders == {"image": EncoderSpec("perceptual", "v1"),
                            "text": EncoderSpec("sentence_transformers", "all-MiniLM-L6-v2")}
    assert run.audio == AudioConfig(sample_rate=16000, hop_length=200)
    assert run.mel_norm == MelNormalization(-10.0, 3.0)


def test_defaults_and_encoders_in_the_model_config(tmp_path) -> None:
    values = Art2MusicConfig.tiny().to_dict()
    values["encoders"] = {"image": IMAGE, "text": TEXT}
    run = _run(tmp_path, {"model_config": values, "encoders": {}})
    assert run.encoders["image"] == EncoderSpec("perceptual", "v1")
    assert run.audio == AudioConfig()
    assert run.audio.hop_length == 256
    assert run.mel_norm == MelNormalization(math.log(1e-5), 2.5)
    assert run.dataset is None
    assert run.feelings_head is None


def test_no_encoders_is_an_export_error(tmp_path) -> None:
    run = _run(tmp_path, {"model_config": Art2MusicConfig.tiny().to_dict()})
    with pytest.raises(ExportError):
        run.encoders  # noqa: B018


def test_dataset_only_when_its_manifest_exists(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    run = _run(tmp_path / "r", {"model_config": {}, "train_config": {"data": str(data)}})
    assert run.dataset is None
    (data / "manifest.jsonl").write_text("{}\n", encoding="utf-8")
    assert run.dataset == data
    assert _run(tmp_path / "r2", {"train_config": None}).dataset is None
    assert _run(tmp_path / "r3", {"train_config": {"data": ""}}).dataset is None


def test_feelings_head_for_this_image_encoder_only(tmp_path) -> None:
    run = _run(tmp_path, {"encoders": {"image": IMAGE, "text": TEXT}})
    head = tmp_path / "checkpoints" / "feelings.safetensors"
    head.write_bytes(b"h")
    assert run.feelings_head is None  # no sidecar
    sidecar = head.with_suffix(".json")
    sidecar.write_text(json.dumps({"image_encoder": IMAGE}), encoding="utf-8")
    assert run.feelings_head == head
    sidecar.write_text(json.dumps({"image_encoder": {**IMAGE, "name": "v2"}}), encoding="utf-8")
    assert run.feelings_head is None
    sidecar.write_text(json.dumps({"image_encoder": IMAGE}), encoding="utf-8")
    head.unlink()
    assert run.feelings_head is None


def test_model_loads_the_weights_in_eval_mode(tmp_path) -> None:
    config = Art2MusicConfig.tiny(image_dim=4, text_dim=4, frames=8)
    torch.manual_seed(3)
    source = Art2Music(config)
    run = _run(tmp_path, {"model_config": config.to_dict()}, model=source)
    model = run.model()
    assert not model.training
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
