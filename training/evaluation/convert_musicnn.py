"""One-off conversion of musicnn's shipped MTT_musicnn TF1 checkpoint (and TF reference outputs).

musicnn (Pons & Serra, ISMIR 2019 LBD; PyPI ``musicnn`` 0.1.0, ISC licence) ships its weights as
TensorFlow 1 checkpoints. This script reads them once, in a throwaway virtual environment that
has TensorFlow, and writes

* ``assets/embedders/musicnn_mtt.safetensors`` — every trained variable under its original TF
  name, in TF layout (conv kernels ``[kh, kw, in, out]``, dense kernels ``[in, out]``), and
* ``assets/embedders/musicnn_mtt.json`` — layer configuration, tag names, licence, provenance;

``reference`` additionally runs the original TF graph (musicnn's own ``models.define_model`` and
``extractor.batch_data``) on two synthetic signals and saves its outputs as a test fixture for
:mod:`training.evaluation.musicnn`. Nothing here is imported by the project at run time.

Usage (TensorFlow stays out of the project's .venv)::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf-keras librosa soundfile safetensors
    .venv/bin/pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    /tmp/tfvenv/bin/pip install --no-deps /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python training/evaluation/convert_musicnn.py convert
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python training/evaluation/convert_musicnn.py reference
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np

MODEL = "MTT_musicnn"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS = REPO_ROOT / "assets" / "embedders" / "musicnn_mtt.safetensors"
DEFAULT_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "musicnn_mtt_reference.npz"

MUSICNN_LICENCE = (
    "ISC. Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by "
    "Jordi Pons (www.jordipons.me). Permission to use, copy, modify, and/or distribute this "
    "software for any purpose with or without fee is hereby granted, provided that the above "
    "copyright notice and this permission notice appear in all copies. THE SOFTWARE IS PROVIDED "
    "\"AS IS\" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL "
    "IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE "
    "FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER "
    "RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR "
    "OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS "
    "SOFTWARE."
)

# Semantic name → TF variable scope, in the order musicnn's models.build_musicnn creates them.
LAYERS: dict[str, dict] = {
    "input_bn": {"bn": "batch_normalization"},
    "timbral_74": {"conv": "conv2d", "bn": "batch_normalization_1", "kernel": [7, 38]},
    "timbral_77": {"conv": "conv2d_1", "bn": "batch_normalization_2", "kernel": [7, 67]},
    "temporal_128": {"conv": "conv2d_2", "bn": "batch_normalization_3", "kernel": [128, 1]},
    "temporal_64": {"conv": "conv2d_3", "bn": "batch_normalization_4", "kernel": [64, 1]},
    "temporal_32": {"conv": "conv2d_4", "bn": "batch_normalization_5", "kernel": [32, 1]},
    "midend_1": {"conv": "conv2d_5", "bn": "batch_normalization_6", "kernel": [7, 561]},
    "midend_2": {"conv": "conv2d_6", "bn": "batch_normalization_7", "kernel": [7, 64]},
    "midend_3": {"conv": "conv2d_7", "bn": "batch_normalization_8", "kernel": [7, 64]},
    "pool_bn": {"bn": "batch_normalization_9"},
    "penultimate": {"dense": "dense", "bn": "batch_normalization_10", "units": 200},
    "output": {"dense": "dense_1", "units": 50},
}


def musicnn_dir() -> Path:
    """Folder of the installed musicnn package (without importing it, which imports TF)."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or spec.origin is None:
        raise SystemExit("musicnn is not installed in this interpreter; install the wheel with "
                         "pip install --no-deps musicnn-0.1.0-py3-none-any.whl (see this docstring).")
    return Path(spec.origin).parent


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(out_path: Path) -> None:
    """Writes the trained variables (no Adam slots) as safetensors plus the JSON description."""
    import tensorflow as tf
    from musicnn import configuration
    from safetensors.numpy import save_file

    checkpoint_dir = musicnn_dir() / MODEL
    reader = tf.compat.v1.train.NewCheckpointReader(str(checkpoint_dir) + "/")
    tensors = {
        name: np.ascontiguousarray(reader.get_tensor(name), dtype=np.float32)
        for name in sorted(reader.get_variable_to_shape_map())
        if "Adam" not in name and not name.endswith("_power")
    }
    expected = {f"{scope}/{suffix}" for layer in LAYERS.values() for kind, scope in layer.items()
                if kind in ("conv", "bn", "dense")
                for suffix in ({"conv": ("kernel", "bias"), "dense": ("kernel", "bias"),
                                "bn": ("gamma", "beta", "moving_mean", "moving_variance")}[kind])}
    if set(tensors) != expected:
        raise SystemExit(f"unexpected checkpoint variables {sorted(set(tensors) ^ expected)}; "
                         "is this musicnn 0.1.0's MTT_musicnn?")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    version = importlib.metadata.version("musicnn")
    save_file(tensors, str(out_path), metadata={"model": MODEL, "source": f"musicnn {version}",
                                                "licence": "ISC"})
    config = json.loads((checkpoint_dir / "config.json").read_text())
    description = {
        "name": "musicnn-MTT_musicnn",
        "model": MODEL,
        "source": f"PyPI musicnn {version}, musicnn/{MODEL}/ (TensorFlow 1 checkpoint)",
        "version": version,
        "paper": "Pons & Serra, musicnn: pre-trained convolutional neural networks for music "
                 "audio tagging, ISMIR 2019 late-breaking demo",
        "licence": "ISC",
        "licence_text": MUSICNN_LICENCE,
        "checkpoint_sha256": sha256(checkpoint_dir / ".data-00000-of-00001"),
        "safetensors_sha256": sha256(out_path),
        "layout": "TF: conv kernels [kh (time), kw (freq), in, out]; dense kernels [in, out]",
        "batch_norm_epsilon": 1e-3,
        "frontend": {"sample_rate": configuration.SR, "n_fft": configuration.FFT_SIZE,
                     "hop_length": configuration.FFT_HOP, "n_mels": configuration.N_MELS,
                     "n_frames": config["n_frames"], "pre_processing": "log10(10000 * mel + 1)",
                     "mel_dtype": "float16", "pad_short": config["pad_short"]},
        "layers": LAYERS,
        "midend_filters": 64,
        "backend_units": 200,
        "tags": list(configuration.MTT_LABELS),
        "training": {k: config[k] for k in ("epochs", "batch_size", "learning_rate", "optimizer")},
    }
    out_path.with_suffix(".json").write_text(json.dumps(description, indent=2) + "\n")
    print(f"wrote {len(tensors)} tensors to {out_path} and {out_path.with_suffix('.json')}")


def test_signals(sample_rate: int = 16000) -> dict[str, np.ndarray]:
    """Two int16 signals well inside float16 range of musicnn's Mel: 6 s of notes, 3 s of noise."""
    t = np.arange(6 * sample_rate) / sample_rate
    notes = np.zeros_like(t)
    for index, midi in enumerate((60, 64, 67, 72, 65, 69, 62, 59)):
        onset = 0.75 * index
        active = t >= onset
        freq = 440.0 * 2 ** ((midi - 69) / 12)
        envelope = np.exp(-3.0 * (t - onset)) * active
        for harmonic in range(1, 6):
            notes += envelope * 0.04 / harmonic * np.sin(2 * np.pi * freq * harmonic * (t - onset))
    noise = np.random.default_rng(0).standard_normal(3 * sample_rate) * 0.05
    return {name: np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
            for name, x in (("notes", notes), ("noise", noise))}


def reference(fixture_path: Path) -> None:
    """Runs the original TF graph on :func:`test_signals` and saves inputs and outputs."""
    import soundfile as sf
    import tensorflow as tf
    from musicnn import configuration, extractor, models

    tf.compat.v1.disable_eager_execution()
    n_frames = 187
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, configuration.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        logits, _, _, _, _, _, mean_pool, max_pool, penultimate = models.define_model(
            x, is_training, MODEL, len(configuration.MTT_LABELS))
        taggram = tf.nn.sigmoid(logits)
    session = tf.compat.v1.Session()
    tf.compat.v1.train.Saver().restore(session, str(musicnn_dir() / MODEL) + "/")
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, signal in test_signals(configuration.SR).items():
            wav = Path(tmp) / f"{name}.wav"
            sf.write(wav, signal, configuration.SR, subtype="PCM_16")
            batch, _ = extractor.batch_data(str(wav), n_frames, n_frames)
            if not np.all(np.isfinite(batch)):
                raise SystemExit(f"test signal {name} overflows musicnn's float16 Mel; lower it.")
            outputs = session.run([taggram, penultimate, mean_pool, max_pool],
                                  feed_dict={x: batch, is_training: False})
            arrays[f"{name}/audio"] = signal
            arrays[f"{name}/mel"] = batch
            for key, value in zip(("taggram", "penultimate", "mean_pool", "max_pool"), outputs,
                                  strict=True):
                arrays[f"{name}/{key}"] = np.squeeze(value).reshape(batch.shape[0], -1)
    arrays["versions"] = np.array(
        [f"musicnn {importlib.metadata.version('musicnn')}", f"tensorflow {tf.__version__}",
         f"librosa {importlib.metadata.version('librosa')}", f"numpy {np.__version__}"])
    fixture_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(fixture_path, **arrays)
    print(f"wrote {fixture_path}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["convert", "reference"])
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output file (default {DEFAULT_WEIGHTS} or {DEFAULT_FIXTURE})")
    args = parser.parse_args()
    if args.command == "convert":
        convert(args.out or DEFAULT_WEIGHTS)
    else:
        reference(args.out or DEFAULT_FIXTURE)


if __name__ == "__main__":
    main()
