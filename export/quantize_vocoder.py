"""Converts a bundle's HiFi-GAN vocoder graph to int8 in place (issue 10 item 1: a faster CPU vocoder).

    python -m export.quantize_vocoder --bundle assets/bundle --calibration data/dataset-topk \\
        --out runs/bundle-int8

onnxruntime's static QDQ quantisation (per-channel int8 weights, uint8 activations whose ranges
are calibrated on windows of real Mels at the 99.999th percentile) is applied to the residual
blocks of the first half of the upsampling stages only: there the channels are wide (most of
the multiply-adds) and the error is small. The later stages, the first and last convolutions
and the transposed convolutions stay float32; measured on HiFi-GAN V1 (README: "Vocoders"),
quantising a later stage costs 1.3 dB (stage 2) to 6.8 dB (stage 3) of MCD, the first ones
0.39 dB together.

The new graph replaces the vocoder's file (``<graph>_int8.onnx``); the manifest names the
vocoder ``<name>-int8`` (``hifigan-v1-int8``), marks the graph ``weights: int8`` and off
TensorRT, and records the measured MCD / Mel L1 against the source graph on held-out clips.
Every other file and manifest field is copied as it is and every file re-hashed
(export/music_encoder.py's staging and commit); the engine loads it unchanged.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from core.audio_config import AudioConfig, MelNormalization
from core.mel import log_mel
from engine.bundle import Bundle
from engine.manifest import MANIFEST_NAME
from engine.providers import CPU
from engine.session import GraphSession, SessionSettings
from export.bundle import BundleWriter
from export.errors import ExportError
from training.evaluation.metrics import mcd
from training.vocoder.data import music_log_mels

INT8_SUFFIX = "-int8"
DEFAULT_PERCENTILE = 99.999
DEFAULT_MAX_MCD_DB = 0.75
"""Refuse a quantised graph whose audio is further than this from the source graph's (MCD of
their log-Mels, dB); HiFi-GAN V1 with stages 0-1 quantised measures 0.39 dB."""
CHECK_FRAMES = 384
"""Frames of each held-out clip vocoded by both graphs for the quality check (4.5 s)."""


@dataclass(frozen=True)
class QuantizeOptions:
    """What to convert and how; ``stages`` None = the first half of the upsampling stages."""

    bundle: Path
    calibration: Path
    out: Path | None = None
    stages: tuple[int, ...] | None = None
    windows: int = 32
    window_frames: int = 92
    """Calibration window: the engine's streamed chunk (64 frames) + 2 × 14 context frames."""
    check_clips: int = 4
    percentile: float = DEFAULT_PERCENTILE
    max_mcd_db: float = DEFAULT_MAX_MCD_DB
    seed: int = 0


@dataclass(frozen=True)
class QuantizeReport:
    name: str
    file: str
    stages: tuple[int, ...]
    quantized_convs: int
    total_convs: int
    mcd_db: float
    mel_l1: float
    check_clips: int


def fp32_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` with export/fp16.py's fp16 initialisers folded back to float32 (the
    quantiser calibrates and rounds float32 weights; the Cast nodes are dropped)."""
    converted = onnx.ModelProto()
    converted.CopyFrom(model)
    graph = converted.graph
    initializers = {t.name: t for t in graph.initializer}
    casts = {n.output[0]: n.input[0] for n in graph.node
             if n.op_type == "Cast" and len(n.input) == 1 and n.input[0] in initializers}
    kept = [t for t in graph.initializer if t.name not in casts.values()]
    for output, source in casts.items():
        kept.append(numpy_helper.from_array(
            numpy_helper.to_array(initializers[source]).astype(np.float32), output))
    graph.ClearField("initializer")
    graph.initializer.extend(kept)
    nodes = [n for n in graph.node if not (n.op_type == "Cast" and n.output[0] in casts)]
    graph.ClearField("node")
    graph.node.extend(nodes)
    return converted


def default_stages(config: dict) -> tuple[int, ...]:
    """The first half of the upsampling stages (V1: 0 and 1 of 4; tiny: 0 of 3)."""
    count = len(config.get("upsample_rates", ()))
    if count == 0:
        raise ExportError("the bundle's vocoder config has no upsample_rates; only a HiFi-GAN "
                          "generator exported by main.py export can be quantised.")
    return tuple(range(max(1, count // 2)))


def stage_convs(model: onnx.ModelProto, config: dict, stages: Sequence[int]) -> list[str]:
    """Names of the Conv nodes in the residual blocks of `stages` (HiFi-GAN's ``resblocks.i``,
    i // len(resblock_kernel_sizes) = the stage)."""
    per_stage = len(config.get("resblock_kernel_sizes", ())) or 1
    pattern = re.compile(r"resblocks\.(\d+)[./]")
    names = []
    for node in model.graph.node:
        match = pattern.search(node.name)
        if node.op_type == "Conv" and match and int(match.group(1)) // per_stage in stages:
            names.append(node.name)
    if not names:
        raise ExportError(f"no residual-block convolutions of stages {list(stages)} in the "
                          "vocoder graph (node names resblocks.<i>); re-export the bundle with "
                          "main.py export, or pass other --stages.")
    return names


def calibration_mels(source: Path, audio: AudioConfig, norm: MelNormalization,
                     split: str | None = "train") -> list[np.ndarray]:
    """Natural-log Mels [n_mels, T] of real music (training.vocoder.data.music_log_mels: a data
    set's ``mels/*.npy`` of one split, a folder of such Mels, or a folder of audio files)."""
    try:
        return music_log_mels(source, audio, norm, split)
    except ValueError as error:
        raise ExportError(str(error)) from error


def split_clips(mels: list[np.ndarray], check_clips: int) -> tuple[list, list]:
    """Calibration clips and held-out check clips (every other clip, up to `check_clips`)."""
    check = mels[1::2][:check_clips]
    held = {id(m) for m in check}
    return [m for m in mels if id(m) not in held], check


def calibration_windows(mels: list[np.ndarray], frames: int, count: int,
                        seed: int) -> list[np.ndarray]:
    """`count` windows [1, n_mels, ≤ frames] drawn evenly from the clips at seeded offsets."""
    rng = np.random.default_rng(seed)
    windows = []
    for i in range(count):
        mel = mels[i % len(mels)]
        start = int(rng.integers(0, max(1, mel.shape[1] - frames + 1)))
        windows.append(np.ascontiguousarray(mel[None, :, start:start + frames], np.float32))
    return windows


class _Windows:
    """onnxruntime.quantization.CalibrationDataReader over fixed windows."""

    def __init__(self, input_name: str, windows: list[np.ndarray]) -> None:
        self._feeds = [{input_name: w} for w in windows]
        self._iter: Iterator[dict] = iter(self._feeds)

    def get_next(self) -> dict | None:
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self._feeds)


def quantize_graph(model: onnx.ModelProto, windows: list[np.ndarray], nodes: Sequence[str],
                   percentile: float = DEFAULT_PERCENTILE) -> onnx.ModelProto:
    """Static QDQ int8 of the Conv `nodes` of a float32 `model`, calibrated on `windows`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="a2m-quant-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save_model(model, str(source))
        quantize_static(str(source), str(target), _Windows(input_name, windows),
                        quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                        nodes_to_quantize=list(nodes), per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": percentile})
        return onnx.load(str(target))


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=[CPU])


def audio_distance(source: onnx.ModelProto, quantized: onnx.ModelProto,
                   mels: list[np.ndarray], audio: AudioConfig,
                   frames: int = CHECK_FRAMES) -> tuple[float, float]:
    """Mean MCD (dB) and Mel L1 (nats) between the log-Mels of both graphs' audio."""
    name = source.graph.input[0].name
    reference, candidate = _session(source), _session(quantized)
    distances, l1 = [], []
    for mel in mels:
        feed = {name: np.ascontiguousarray(mel[None, :, :frames], np.float32)}
        a = log_mel(reference.run(None, feed)[0].reshape(-1), audio)
        b = log_mel(candidate.run(None, feed)[0].reshape(-1), audio)
        distances.append(mcd(a, b))
        l1.append(float(np.abs(a - b).mean()))
    return float(np.mean(distances)), float(np.mean(l1))


def quantize_vocoder(options: QuantizeOptions) -> QuantizeReport:
    """Writes `options.bundle` with an int8 vocoder to `options.out` (default: in place)."""
    bundle_dir = Path(options.bundle)
    out_dir = Path(options.out) if options.out is not None else bundle_dir
    bundle = Bundle.open(bundle_dir, verify=True)
    manifest = bundle.manifest
    vocoder = manifest.vocoder
    if vocoder.graph is None:
        raise ExportError(f"{bundle_dir} uses {vocoder.name}, which has no graph to quantise; "
                          "export it with a HiFi-GAN vocoder first.")
    if vocoder.name.endswith(INT8_SUFFIX):
        raise ExportError(f"{bundle_dir}'s vocoder is already {vocoder.name}; quantise the "
                          "float bundle it came from instead.")
    spec = manifest.graphs[vocoder.graph]
    stages = tuple(options.stages) if options.stages else default_stages(vocoder.config)
    source = fp32_weights(onnx.load(str(bundle.path(spec.file))))
    nodes = stage_convs(source, vocoder.config, stages)
    total = sum(n.op_type == "Conv" for n in source.graph.node)
    mels = calibration_mels(Path(options.calibration), manifest.audio, manifest.mel_norm)
    calibrate, check = split_clips(mels, options.check_clips)
    windows = calibration_windows(calibrate, options.window_frames, options.windows, options.seed)
    quantized = quantize_graph(source, windows, nodes, options.percentile)
    distance, l1 = audio_distance(source, quantized, check, manifest.audio)
    if distance > options.max_mcd_db:
        raise ExportError(f"the int8 vocoder's audio is {distance:.2f} dB MCD from the float "
                          f"graph's (limit {options.max_mcd_db:g} dB, stages {list(stages)}); "
                          "quantise fewer stages (--stages 0) or keep the float vocoder.")
    raw = json.loads((bundle_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    name = vocoder.name + INT8_SUFFIX
    with BundleWriter(out_dir) as writer:
        writer.stage_existing(bundle, set(spec.files))
        file, extra = writer.write_graph(f"{vocoder.graph}_int8", quantized)
        graph = raw["graphs"][vocoder.graph]
        graph.update(file=file, external_data=list(extra), weights="int8", fp16_compute=False,
                     tensorrt=False)
        graph["parity"] = {**graph.get("parity", {}), "int8_mcd_db": distance,
                           "int8_mel_l1": l1, "int8_max_mcd_db": options.max_mcd_db}
        raw["vocoder"]["name"] = name
        record = {"from": vocoder.name, "method": "onnxruntime static QDQ, per-channel int8 "
                  "weights, uint8 activations", "calibration": "percentile",
                  "percentile": options.percentile, "stages": list(stages),
                  "quantized_convs": len(nodes), "total_convs": total,
                  "calibration_windows": len(windows), "window_frames": options.window_frames,
                  "calibration_clips": len(calibrate), "check_clips": len(check),
                  "mcd_db_vs_float": distance, "mel_l1_vs_float": l1,
                  "onnxruntime": ort.__version__}
        provenance = raw.setdefault("provenance", {})
        provenance["vocoder"] = {**provenance.get("vocoder", {}), "quantization": record}
        writer.commit_raw(raw)
    _check_written(out_dir, quantized, windows[0])
    return QuantizeReport(name, file, stages, len(nodes), total, distance, l1, len(check))


def _check_written(bundle_dir: Path, quantized: onnx.ModelProto, window: np.ndarray) -> None:
    """Re-opens the written bundle (hash check) and runs its vocoder through the engine's
    session class: the audio must equal the quantised graph's."""
    bundle = Bundle.open(bundle_dir, verify=True)
    manifest = bundle.manifest
    spec = manifest.graphs[manifest.vocoder.graph]
    settings = SessionSettings(providers=(CPU,), cache_root=bundle_dir / "trt_cache",
                               intra_op_threads=1)
    session = GraphSession(manifest.vocoder.graph, bundle.path(spec.file), spec,
                           tuple(manifest.files[f] for f in spec.files), settings)
    got = session.run({spec.inputs[0].name: window})[0]
    expected = _session(quantized).run(None, {quantized.graph.input[0].name: window})[0]
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-6):
        raise ExportError(f"the written bundle's vocoder differs from the quantised graph "
                          f"({bundle_dir}); do not ship it.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.quantize_vocoder",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="bundle with a HiFi-GAN vocoder")
    parser.add_argument("--calibration", type=Path, required=True,
                        help="real music: a data set directory (mels/*.npy) or a folder of "
                        "audio files")
    parser.add_argument("--out", type=Path, help="write the result here (default: in place)")
    parser.add_argument("--stages", type=lambda s: tuple(int(x) for x in s.split(",")),
                        help="upsampling stages whose residual blocks become int8, e.g. 0,1 "
                        "(default: the first half)")
    parser.add_argument("--windows", type=int, default=32, help="calibration windows")
    parser.add_argument("--percentile", type=float, default=DEFAULT_PERCENTILE)
    parser.add_argument("--max-mcd", type=float, default=DEFAULT_MAX_MCD_DB,
                        help="refuse when the int8 audio is further than this from the float "
                        "graph's (MCD, dB, held-out clips)")
    args = parser.parse_args(argv)
    options = QuantizeOptions(args.bundle, args.calibration, args.out, args.stages, args.windows,
                              percentile=args.percentile, max_mcd_db=args.max_mcd)
    try:
        report = quantize_vocoder(options)
    except (ExportError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.out or args.bundle}: vocoder {report.name} ({report.file}); "
          f"{report.quantized_convs}/{report.total_convs} convolutions int8 (stages "
          f"{list(report.stages)}); vs the float graph on {report.check_clips} held-out clips: "
          f"MCD {report.mcd_db:.3f} dB, Mel L1 {report.mel_l1:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
