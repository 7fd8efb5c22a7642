"""HiFi-GAN fine-tuning: a few tiny-config steps on generated WAVs, exact resume, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from core.audio_config import DEFAULT_AUDIO
from core.mel import log_mel, mel_target
from training.vocoder import checkpoint as ckpt
from training.vocoder.cli import add_arguments, main, options_from_args
from training.vocoder.data import SegmentDataset, StepSampler, read_clips
from training.vocoder.finetune import FinetuneOptions, finetune
from training.vocoder.pretrained import load_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SR = DEFAULT_AUDIO.sample_rate
HOP = DEFAULT_AUDIO.hop_length


@pytest.fixture(scope="module")
def wav_dataset(tmp_path_factory) -> Path:
    return write_wav_dataset(tmp_path_factory.mktemp("vocoder_data"))


def write_wav_dataset(root: Path) -> Path:
    """Three 1.5 s WAV clips (two rows each, one held out), decoder-style predicted Mels and
    exact log-Mels of the whole clips (``exact/``, to check frame alignment)."""
    for folder in ("audio", "predicted", "exact"):
        (root / folder).mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * SR)) / SR
    rows = []
    for clip in range(3):
        glide = 2 * np.pi * 220 * (clip + 1) * (t + 0.5 * t**2)  # 220 → 550 Hz (× clip + 1)
        envelope = 0.2 + 0.15 * np.sin(2 * np.pi * 3 * t)
        audio = envelope * np.sin(glide) + 0.02 * rng.standard_normal(t.size)
        sf.write(root / "audio" / f"clip{clip}.wav", audio.astype(np.float32), SR, "FLOAT")
        for variant, split in enumerate(("train", "val")):
            rows.append({"id": f"row{clip}_{variant}", "audio_id": f"clip{clip}",
                         "audio_path": f"audio/clip{clip}.wav", "audio_offset": 0.0,
                         "split": split})
        # Stand-in for a decoder prediction: the real target, slightly perturbed, normalised.
        target = mel_target(audio.astype(np.float32)) + 0.05 * rng.standard_normal((80, 896))
        np.save(root / "predicted" / f"row{clip}_0.npy", target.clip(-1, 1).astype(np.float16))
        np.save(root / "exact" / f"clip{clip}.npy", log_mel(audio.astype(np.float32)))
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _options(dataset: Path, run_dir: Path, **overrides) -> FinetuneOptions:
    values = dict(dataset=dataset, run_dir=run_dir, config="tiny", max_steps=4,
                  checkpoint_every=2, log_every=1, progress=False, device="cpu",
                  predicted_mels=dataset / "predicted", predicted_fraction=0.5)
    return FinetuneOptions(**{**values, **overrides})


def test_clips_are_unique_per_audio_id_and_carry_their_predictions(wav_dataset):
    clips = read_clips(wav_dataset, ("train",), wav_dataset / "predicted")
    assert [c.audio_id for c in clips] == ["clip0", "clip1", "clip2"]
    assert all(len(c.predicted) == 1 for c in clips)
    with pytest.raises(ValueError, match="no rows in split"):
        read_clips(wav_dataset, ("nonexistent",))


def test_segments_pair_mels_with_the_audio_they_describe(wav_dataset):
    clips = read_clips(wav_dataset, ("train",), wav_dataset / "predicted")
    real = SegmentDataset(clips, 2048)
    mel, audio, flag = real[(0, 7)]
    assert mel.shape == (80, 2048 // HOP) and audio.shape == (2048,) and flag == 0.0
    np.testing.assert_allclose(mel, log_mel(audio), atol=1e-6)
    predicted = SegmentDataset(clips, 2048, predicted_fraction=1.0)
    mel, audio, flag = predicted[(0, 7)]
    assert flag == 1.0
    # The predicted Mel is the perturbed real one, so it must track the segment's true Mel.
    assert np.abs(mel - log_mel(audio)).mean() < 0.5
    exact = SegmentDataset(read_clips(wav_dataset, ("train",), wav_dataset / "exact"), 2048,
                           predicted_fraction=1.0, predicted_domain="log")
    for seed in range(5):
        mel, audio, _ = exact[(1, seed)]
        # Interior frames see the same samples whether the STFT ran on the clip or the segment.
        np.testing.assert_allclose(mel[:, 2:-2], log_mel(audio)[:, 2:-2], atol=1e-3)


def test_sampler_is_a_pure_function_of_seed_and_step():
    sampler = StepSampler(num_clips=5, batch_size=2, seed=3, start_step=0, end_step=6)
    assert sampler.steps_per_epoch == 2
    batches = list(sampler)
    resumed = list(StepSampler(num_clips=5, batch_size=2, seed=3, start_step=4, end_step=6))
    assert batches[4:] == resumed
    assert len({i for batch in batches[:2] for i, _ in batch}) == 4  # one epoch, no repeats
    small = StepSampler(num_clips=1, batch_size=3, seed=0, start_step=0, end_step=1)
    assert [i for i, _ in small.batch(0)] == [0, 0, 0]


def test_a_few_tiny_steps_train_and_write_the_run(wav_dataset, tmp_path):
    result = finetune(_options(wav_dataset, tmp_path / "run", max_steps=3))
    assert result.step == 3
    assert all(np.isfinite(v) for v in result.last_losses.values())
    checkpoints = tmp_path / "run" / "checkpoints"
    for name in ("generator.safetensors", "discriminators.safetensors", "optim.safetensors",
                 "generator.json"):
        assert (checkpoints / name).is_file()
    assert not list(checkpoints.glob(".*.tmp"))
    sidecar = json.loads((checkpoints / "generator.json").read_text())
    assert sidecar["step"] == 3 and sidecar["config_name"] == "tiny"
    assert sidecar["audio"] == DEFAULT_AUDIO.to_dict() and sidecar["init"] == "random"
    log = [json.loads(line) for line in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    assert (tmp_path / "run" / "loss_curve.png").stat().st_size > 1000
    generator = load_generator(checkpoints / "generator.safetensors", weight_norm=False)
    with torch.no_grad():
        assert generator(torch.zeros(1, 80, 5) - 11.5).shape == (1, 1, 5 * HOP)


def test_killed_and_resumed_run_reproduces_the_uninterrupted_one(wav_dataset, tmp_path):
    finetune(_options(wav_dataset, tmp_path / "straight"))
    finetune(_options(wav_dataset, tmp_path / "resumed", max_steps=2))  # "killed" after step 2
    with (tmp_path / "resumed" / "losses.jsonl").open("a") as log:  # a dead run's unsaved tail
        log.write(json.dumps({"step": 3, "mel_l1": 9.9}) + "\n")
    finetune(_options(wav_dataset, tmp_path / "resumed", resume=True))
    for name in ("generator.safetensors", "discriminators.safetensors", "optim.safetensors"):
        straight = load_file(str(tmp_path / "straight" / "checkpoints" / name))
        resumed = load_file(str(tmp_path / "resumed" / "checkpoints" / name))
        assert straight.keys() == resumed.keys()
        for key in straight:
            assert torch.equal(straight[key], resumed[key]), f"{name}:{key}"
    steps = [json.loads(line)["step"]
             for line in (tmp_path / "resumed" / "losses.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_an_interrupted_save_is_detected_not_resumed(wav_dataset, tmp_path):
    finetune(_options(wav_dataset, tmp_path / "run", max_steps=2))
    sidecar_path = tmp_path / "run" / "checkpoints" / ckpt.SIDECAR_FILE
    sidecar = json.loads(sidecar_path.read_text())
    sidecar_path.write_text(json.dumps({**sidecar, "step": 4}))
    with pytest.raises(ValueError, match="save was interrupted"):
        finetune(_options(wav_dataset, tmp_path / "run", resume=True))


def test_cli_parses_defaults_and_refuses_to_overwrite_a_run(wav_dataset, tmp_path, capsys):
    parser = add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--dataset", str(wav_dataset)])
    options = options_from_args(args)
    assert (options.config, options.init, options.batch_size, options.segment_size) == (
        "v1", "auto", None, None)  # None: the config's own 16 and 8192
    assert all(action.help for action in parser._actions)
    common = ["--dataset", str(wav_dataset), "--run-dir", str(tmp_path / "run"), "--config",
              "tiny", "--max-steps", "1", "--no-progress", "--device", "cpu"]
    assert main(common) == 0
    assert main(common) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main([*common, "--init", "universal", "--run-dir", str(tmp_path / "other")]) == 2
    assert "HiFi-GAN V1" in capsys.readouterr().err


def test_discriminator_warmup_holds_the_generator_then_lets_it_learn(wav_dataset,
                                                                   tmp_path):
    start = tmp_path / "start.safetensors"
    finetune(_options(wav_dataset, tmp_path / "seed", max_steps=1))
    (tmp_path / "seed" / "checkpoints" / "generator.safetensors").rename(start)
    held = finetune(_options(wav_dataset, tmp_path / "held", init=str(start), max_steps=2,
                             discriminator_warmup=2))
    checkpoints = held.checkpoint_dir
    before, after = load_file(str(start)), load_file(str(checkpoints / "generator.safetensors"))
    assert all(torch.equal(before[k], after[k]) for k in before)
    moved = finetune(_options(wav_dataset, tmp_path / "held", init=str(start), max_steps=3,
                              discriminator_warmup=2, resume=True))
    after = load_file(str(moved.checkpoint_dir / "generator.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)
    log = [json.loads(line) for line in (tmp_path / "held" / "losses.jsonl").read_text().splitlines()]
    assert [r["generator_held"] for r in log] == [True, True, False]
    with pytest.raises(ValueError, match="discriminator-warmup"):
        finetune(_options(wav_dataset, tmp_path / "bad", discriminator_warmup=-1))


def test_a_fine_tuned_run_ships_as_float16_with_its_starting_weights_named(wav_dataset,
                                                                           tmp_path, capsys):
    from export.vocoder import load_vocoder
    from training.vocoder.ship import main as ship_main

    start_dir = tmp_path / "light"
    finetune(_options(wav_dataset, tmp_path / "seed", max_steps=1))
    start_dir.mkdir()
    (tmp_path / "seed" / "checkpoints" / "generator.safetensors").rename(
        start_dir / "generator.safetensors")
    (start_dir / "generator.json").write_text(json.dumps({"licence": "MIT: the light one"}))
    run = tmp_path / "tuned"
    finetune(_options(wav_dataset, run, init=str(start_dir / "generator.safetensors"),
                      max_steps=2))
    assert ship_main(["--run-dir", str(run), "--out", str(tmp_path / "shipped")]) == 0
    assert "step 2, last Mel L1" in capsys.readouterr().out
    stored = load_file(str(tmp_path / "shipped" / "generator.safetensors"))
    assert all(value.dtype == torch.float16 for value in stored.values())
    sidecar = json.loads((tmp_path / "shipped" / "generator.json").read_text())
    assert sidecar["licence"].startswith("MIT: fine-tuned") and "the light one" in sidecar["licence"]
    assert "optimizer_param_groups" not in sidecar and sidecar["config_name"] == "tiny"
    source = load_vocoder(tmp_path / "shipped", DEFAULT_AUDIO)
    original = load_generator(run / "checkpoints" / "generator.safetensors")
    mel = torch.randn(1, 80, 8)
    with torch.no_grad():
        torch.testing.assert_close(source.generator(mel), original(mel), atol=2e-2, rtol=0)
