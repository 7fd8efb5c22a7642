"""export.replace_vocoder on the tiny bundle: another generator goes in, the engine plays exactly
that generator (streamed too), everything else stays, refusals leave the bundle alone."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.mel import load_audio, log_mel
from engine import Engine, EngineError
from engine.bundle import Bundle
from export.errors import ExportError
from export.replace_vocoder import ReplaceOptions, main, replace_vocoder
from training.vocoder.checkpoint import atomic_save_tensors
from training.vocoder.config import TINY
from training.vocoder.generator import Generator

WIDE = replace(TINY, name="tiny-wide", resblock_kernel_sizes=(3, 5),
               resblock_dilation_sizes=((1, 3), (1, 3)))


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory) -> tuple[Path, Generator]:
    torch.manual_seed(11)
    generator = Generator(WIDE)
    path = tmp_path_factory.mktemp("wide") / "checkpoints" / "generator.safetensors"
    atomic_save_tensors(generator.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps({"hifigan": WIDE.to_dict(), "step": 5}))
    return path, generator.eval()


@pytest.fixture(scope="module")
def music(example_music: Path) -> Path:
    return example_music


@pytest.fixture(scope="module")
def replaced(tiny_bundle, generator_file, music, tmp_path_factory):
    out = tmp_path_factory.mktemp("replaced") / "bundle"
    report = replace_vocoder(ReplaceOptions(tiny_bundle, generator_file[0].parent.parent, out,
                                            music=music, check_clips=2, max_mcd_db=100.0))
    return out, report


def test_the_new_vocoder_is_named_and_everything_else_is_kept(tiny_bundle, replaced):
    out, report = replaced
    source = json.loads((tiny_bundle / "manifest.json").read_text())
    written = json.loads((out / "manifest.json").read_text())
    manifest = Bundle.open(out, verify=True).manifest  # every file re-hashed
    assert (report.previous, report.name) == ("hifigan-tiny", "hifigan-tiny-wide")
    assert manifest.vocoder.name == "hifigan-tiny-wide"
    assert manifest.vocoder.config["resblock_kernel_sizes"] == [3, 5]
    assert manifest.vocoder.context_frames == report.context_frames > 0
    assert written["files"]["vocoder.onnx"] != source["files"]["vocoder.onnx"]
    provenance = written["provenance"]["vocoder"]
    assert provenance["replaced"] == "hifigan-tiny" and provenance["step"] == 5
    assert not Path(provenance["source"]).is_absolute()
    assert report.mcd_db > 0
    assert provenance["vs_replaced"]["mcd_db"] == pytest.approx(report.mcd_db)
    for key in set(source) - {"graphs", "vocoder", "files", "provenance", "licences"}:
        assert written[key] == source[key], key
    for name, values in source["graphs"].items():
        if name != "vocoder":
            assert written["graphs"][name] == values
            assert written["files"][values["file"]] == source["files"][values["file"]]


def test_the_engine_plays_that_generator_whole_and_streamed(replaced, generator_file, music):
    out, _ = replaced
    engine = Engine.load(out, providers="cpu", warmup=False, intra_op_threads=1)
    assert engine.vocoder_name == "hifigan-tiny-wide"
    audio = engine.audio
    mel = log_mel(load_audio(sorted(music.glob("*.wav"))[0], audio), audio)[:, :96]
    with torch.no_grad():
        expected = generator_file[1](torch.from_numpy(mel)[None]).reshape(-1).numpy()
    got = engine.vocode(mel)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 2e-3  # fp16 weights within the export's parity bound
    joined = np.concatenate(list(engine.vocode_stream(mel, chunk_frames=32)))
    np.testing.assert_allclose(joined, got, atol=1e-4)  # the measured context covers it


def test_refusals_leave_the_bundle_alone(tiny_bundle, generator_file, music, tmp_path):
    before = (tiny_bundle / "manifest.json").read_bytes()
    with pytest.raises(ExportError, match="MCD"):
        replace_vocoder(ReplaceOptions(tiny_bundle, generator_file[0], tmp_path / "a",
                                       music=music, check_clips=1, max_mcd_db=0.0))
    assert not (tmp_path / "a").exists()
    with pytest.raises(ExportError, match="Griffin-Lim"):
        replace_vocoder(ReplaceOptions(tiny_bundle, "griffin-lim", tmp_path / "b"))
    assert (tiny_bundle / "manifest.json").read_bytes() == before


def test_cli(tiny_bundle, generator_file, tmp_path, capsys):
    copy = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, copy)
    assert main(["--bundle", str(copy), "--vocoder", str(generator_file[0])]) == 0
    assert "hifigan-tiny -> hifigan-tiny-wide" in capsys.readouterr().out
    assert Bundle.open(copy, verify=True).manifest.vocoder.name == "hifigan-tiny-wide"
    assert main(["--bundle", str(copy), "--vocoder", str(tmp_path / "none")]) == 1
    assert "no HiFi-GAN generator" in capsys.readouterr().err


@pytest.fixture(scope="module")
def light_bundle(tiny_bundle, generator_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("light") / "bundle"
    report = replace_vocoder(ReplaceOptions(tiny_bundle, generator_file[0], out, light=True))
    assert (report.previous, report.name) == ("hifigan-tiny", "hifigan-tiny-wide")
    return out


def test_a_light_vocoder_joins_the_bundle_and_the_engine_switches_to_it(
        tiny_bundle, light_bundle, generator_file, example_music):
    manifest = Bundle.open(light_bundle, verify=True).manifest
    assert manifest.vocoder.name == "hifigan-tiny"  # kept
    assert manifest.vocoder_light.name == "hifigan-tiny-wide"
    assert {"vocoder", "vocoder_light"} <= set(manifest.graphs)
    assert Bundle.open(tiny_bundle).manifest.vocoder_light is None
    # the copy's provenance still finds the training run (relative to the new folder)
    copied = Bundle.open(light_bundle)
    assert copied.provenance_path(manifest.provenance["checkpoint"]).is_file()
    assert (copied.provenance_path(manifest.provenance["checkpoint"]).resolve()
            == Bundle.open(tiny_bundle).provenance_path(
                Bundle.open(tiny_bundle).manifest.provenance["checkpoint"]).resolve())
    reference = Engine.load(tiny_bundle, providers="cpu", warmup=False, intra_op_threads=1)
    engine = Engine.load(light_bundle, providers="cpu", warmup=True, intra_op_threads=1,
                         vocoder="full")
    audio = engine.audio
    mel = log_mel(load_audio(sorted(example_music.glob("*.wav"))[1], audio), audio)[:, :64]
    assert engine.vocoder_name == "hifigan-tiny" and engine.light_vocoder_name == "hifigan-tiny-wide"
    np.testing.assert_array_equal(engine.vocode(mel), reference.vocode(mel))
    assert engine.use_light_vocoder(True) and engine.vocoder_name == "hifigan-tiny-wide"
    with torch.no_grad():
        expected = generator_file[1](torch.from_numpy(mel)[None]).reshape(-1).numpy()
    light = engine.vocode(mel)
    assert np.abs(light - expected).max() < 2e-3
    joined = np.concatenate(list(engine.vocode_stream(mel, chunk_frames=16)))
    np.testing.assert_allclose(joined, light, atol=1e-4)  # with the light vocoder's own context
    assert not engine.use_light_vocoder(False) and engine.vocoder_name == "hifigan-tiny"
    assert not reference.use_light_vocoder(True)  # no light vocoder: nothing changes
    assert reference.vocoder_name == "hifigan-tiny"


def test_the_kiosk_switches_to_the_light_vocoder_only_when_slower_than_real_time(light_bundle,
                                                                               caplog):
    from installation.composer import ComposerThread, too_slow

    assert too_slow(10.4, 12.0) == pytest.approx(10.4 / 12.0)
    assert too_slow(10.4, 7.0) is None and too_slow(0.0, 1.0) is None
    engine = Engine.load(light_bundle, providers="cpu", warmup=False, intra_op_threads=1,
                         vocoder="full")
    ComposerThread._lighten_if_slow(engine, 10.4, 7.0)  # 1.5x real time: keep V1
    assert engine.vocoder_name == "hifigan-tiny"
    with caplog.at_level("WARNING"):
        ComposerThread._lighten_if_slow(engine, 10.4, 13.0)  # 0.8x: switch, and say why
    assert engine.vocoder_name == "hifigan-tiny-wide"
    assert "0.80× real time" in caplog.text and "light vocoder hifigan-tiny-wide" in caplog.text


def test_on_the_cpu_the_light_vocoder_plays_unless_the_full_one_is_asked_for(
        tiny_bundle, light_bundle, caplog):
    def loaded(bundle, choice=None):
        kwargs = {} if choice is None else {"vocoder": choice}
        return Engine.load(bundle, providers="cpu", warmup=False, intra_op_threads=1, **kwargs)

    with caplog.at_level("INFO", logger="engine.engine"):
        assert loaded(light_bundle).vocoder_name == "hifigan-tiny-wide"  # auto, on the CPU
    assert "vocoder: hifigan-tiny-wide (auto; the bundle also has hifigan-tiny)" in caplog.text
    assert loaded(light_bundle, "full").vocoder_name == "hifigan-tiny"
    assert loaded(light_bundle, "light").vocoder_name == "hifigan-tiny-wide"
    engine = loaded(light_bundle, "full")
    assert engine.choose_vocoder("auto") == "hifigan-tiny-wide"
    assert engine.choose_vocoder("full") == "hifigan-tiny"
    # a bundle with one vocoder plays it whatever is asked, and says so for "light"
    with caplog.at_level("WARNING"):
        assert loaded(tiny_bundle, "light").vocoder_name == "hifigan-tiny"
    assert "no light vocoder" in caplog.text
    assert loaded(tiny_bundle).vocoder_name == "hifigan-tiny"
    with pytest.raises(EngineError, match="use one of auto, full, light"):
        loaded(light_bundle, "fast")
    with pytest.raises(EngineError, match="use one of auto, full, light"):
        engine.choose_vocoder("Light")


def test_the_bench_plays_what_the_kiosk_plays_and_checks_eager_on_the_full_vocoder(light_bundle):
    from bench.runner import BenchConfig, run_benchmark

    light = run_benchmark(BenchConfig(light_bundle, repeats=1, providers=["cpu"]))
    assert light.facts["vocoder"] == "hifigan-tiny-wide"
    # eager holds the full vocoder's weights: the agreement is measured on that one, and said
    assert light.facts["eager_vocoder"] == "hifigan-tiny (the engine played hifigan-tiny-wide)"
    assert max(light.differences.values()) < 5e-3
    full = run_benchmark(BenchConfig(light_bundle, repeats=1, providers=["cpu"], eager=False,
                                     vocoder="full"))
    assert full.facts["vocoder"] == "hifigan-tiny" and "eager_vocoder" not in full.facts
