"""export.quantize_vocoder on the tiny bundle: an int8 vocoder the engine loads unchanged, its
audio within the stated bound of the float graph's, the manifest naming it, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from core.mel import load_audio, log_mel, normalize
from engine import Engine
from engine.bundle import Bundle
from export.errors import ExportError
from export.fp16 import with_fp16_weights
from export.quantize_vocoder import (
    QuantizeOptions,
    calibration_mels,
    default_stages,
    fp32_weights,
    main,
    quantize_vocoder,
    stage_convs,
)
from training.evaluation.metrics import mcd

MAX_MCD_DB = 0.75
TINY_BOUND_DB = 0.25
"""The tiny vocoder's int8 stage 0 measures 0.05 dB MCD from its float graph."""


@pytest.fixture(scope="module")
def calibration(example_music: Path) -> Path:
    return example_music


@pytest.fixture(scope="module")
def int8(tiny_bundle, calibration, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "bundle"
    report = quantize_vocoder(QuantizeOptions(tiny_bundle, calibration, out, windows=8,
                                              check_clips=2, max_mcd_db=MAX_MCD_DB))
    return out, report


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def test_fp32_weights_folds_the_fp16_casts_without_changing_the_output(tiny_bundle):
    bundle = Bundle.open(tiny_bundle)
    spec = bundle.manifest.graphs[bundle.manifest.vocoder.graph]
    model = with_fp16_weights(onnx.load(str(bundle.path(spec.file))), min_elements=1)
    folded = fp32_weights(model)
    assert any(n.op_type == "Cast" for n in model.graph.node)
    assert not any(n.op_type == "Cast" for n in folded.graph.node)
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in folded.graph.initializer)
    mel = np.random.default_rng(0).uniform(-8, 1, (1, 80, 24)).astype(np.float32)
    before = _session(model).run(None, {"log_mel": mel})[0]
    after = _session(folded).run(None, {"log_mel": mel})[0]
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_only_the_first_stages_residual_convolutions_are_chosen(tiny_bundle):
    bundle = Bundle.open(tiny_bundle)
    config = bundle.manifest.vocoder.config
    model = onnx.load(str(bundle.path("vocoder.onnx")))
    assert default_stages(config) == (0,)  # tiny: 3 upsampling stages, one resblock each
    assert default_stages({"upsample_rates": [8, 8, 2, 2]}) == (0, 1)  # V1
    first = stage_convs(model, config, (0,))
    assert first and all("resblocks.0" in name for name in first)
    both = stage_convs(model, config, (0, 1))
    assert set(first) < set(both) and any("resblocks.1" in name for name in both)
    with pytest.raises(ExportError, match="--stages"):
        stage_convs(model, config, (7,))


def test_int8_bundle_names_its_vocoder_and_keeps_everything_else(tiny_bundle, int8):
    out, report = int8
    source = json.loads((tiny_bundle / "manifest.json").read_text())
    written = json.loads((out / "manifest.json").read_text())
    bundle = Bundle.open(out, verify=True)  # every file re-hashed
    assert bundle.manifest.vocoder.name == report.name == "hifigan-tiny-int8"
    graph = bundle.manifest.graphs["vocoder"]
    assert (graph.file, graph.weights, graph.tensorrt) == ("vocoder_int8.onnx", "int8", False)
    assert "vocoder.onnx" not in written["files"] and not (out / "vocoder.onnx").exists()
    assert graph.parity["int8_mcd_db"] == pytest.approx(report.mcd_db)
    record = written["provenance"]["vocoder"]["quantization"]
    assert record["from"] == "hifigan-tiny" and record["stages"] == [0]
    assert record["quantized_convs"] == report.quantized_convs < report.total_convs
    for key in set(source) - {"graphs", "vocoder", "files", "provenance"}:
        assert written[key] == source[key], key
    for name, values in source["graphs"].items():
        if name != "vocoder":
            assert written["graphs"][name] == values
            assert written["files"][values["file"]] == source["files"][values["file"]]
    model = onnx.load(str(out / "vocoder_int8.onnx"))
    quantised = {n.name for n in model.graph.node if n.op_type == "Conv"
                 and any(i.endswith("_DequantizeLinear_Output") for i in n.input[:2])}
    assert len(quantised) == report.quantized_convs
    assert all("resblocks.0" in name for name in quantised)


def test_engine_plays_the_int8_vocoder_within_the_parity_bound(tiny_bundle, int8, calibration):
    out, report = int8
    reference = Engine.load(tiny_bundle, providers="cpu", warmup=False, intra_op_threads=1)
    engine = Engine.load(out, providers="cpu", warmup=False, intra_op_threads=1)
    assert engine.vocoder_name == "hifigan-tiny-int8"
    audio = engine.audio
    mel = log_mel(load_audio(sorted(calibration.glob("*.wav"))[-1], audio), audio)[:, :256]
    expected, got = reference.vocode(mel), engine.vocode(mel)
    assert got.shape == expected.shape == (256 * audio.hop_length,)
    assert np.abs(got - expected).max() > 0  # it really is another graph
    distance = mcd(log_mel(expected, audio), log_mel(got, audio))
    assert 0 < distance < TINY_BOUND_DB
    assert 0 < report.mcd_db < TINY_BOUND_DB
    # Streamed through the engine: int8 rounding may flip at window edges, but the blocks
    # still join into the one-pass audio's sound.
    joined = np.concatenate(list(engine.vocode_stream(mel, chunk_frames=32)))
    assert joined.shape == got.shape
    assert mcd(log_mel(got, audio), log_mel(joined, audio)) < 0.1


def test_refuses_a_bound_it_cannot_meet_and_leaves_the_bundle_alone(tiny_bundle, calibration,
                                                                    tmp_path):
    before = (tiny_bundle / "manifest.json").read_bytes()
    with pytest.raises(ExportError, match="MCD"):
        quantize_vocoder(QuantizeOptions(tiny_bundle, calibration, tmp_path / "b", windows=4,
                                         check_clips=1, max_mcd_db=0.0))
    assert not (tmp_path / "b").exists()
    assert (tiny_bundle / "manifest.json").read_bytes() == before


def test_refuses_griffin_lim_an_int8_vocoder_and_too_little_music(tiny_token_bundle, int8,
                                                                 calibration, tmp_path):
    with pytest.raises(ExportError, match="no graph"):
        quantize_vocoder(QuantizeOptions(tiny_token_bundle, calibration, tmp_path / "a"))
    with pytest.raises(ExportError, match="already hifigan-tiny-int8"):
        quantize_vocoder(QuantizeOptions(int8[0], calibration, tmp_path / "b"))
    lonely = tmp_path / "one"
    lonely.mkdir()
    shutil.copy(sorted(calibration.glob("*.wav"))[0], lonely)
    bundle = Bundle.open(int8[0]).manifest
    with pytest.raises(ExportError, match="at least 2"):
        calibration_mels(lonely, bundle.audio, bundle.mel_norm)


def test_cli_converts_in_place(tiny_bundle, calibration, tmp_path, capsys):
    copy = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, copy)
    assert main(["--bundle", str(copy), "--calibration", str(calibration), "--windows", "4",
                 "--stages", "0"]) == 0
    assert "hifigan-tiny-int8" in capsys.readouterr().out
    assert Bundle.open(copy, verify=True).manifest.vocoder.name == "hifigan-tiny-int8"
    assert main(["--bundle", str(copy), "--calibration", str(tmp_path / "missing")]) == 1
    assert "already" in capsys.readouterr().err


def test_a_data_sets_mels_are_read_from_one_split(calibration, tmp_path, tiny_bundle):
    manifest = Bundle.open(tiny_bundle).manifest
    audio, norm = manifest.audio, manifest.mel_norm
    (tmp_path / "mels").mkdir()
    rows = []
    for i, (wav, split) in enumerate(zip(sorted(calibration.glob("*.wav")),
                                         ("train", "test", "train"), strict=True)):
        mel = log_mel(load_audio(wav, audio), audio)
        np.save(tmp_path / "mels" / f"clip{i}.npy", normalize(mel, norm).astype(np.float16))
        rows.append(json.dumps({"mel_path": f"mels/clip{i}.npy", "split": split}))
    (tmp_path / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    train = calibration_mels(tmp_path, audio, norm)
    everything = calibration_mels(tmp_path, audio, norm, split=None)
    assert len(train) == 2 and len(everything) == 3
    expected = log_mel(load_audio(sorted(calibration.glob("*.wav"))[2], audio), audio)
    np.testing.assert_allclose(train[1], expected, atol=0.02)  # float16 storage
    with pytest.raises(ExportError, match="at least 2"):
        calibration_mels(tmp_path, audio, norm, split="test")
