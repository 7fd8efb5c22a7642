"""Decoder-predicted Mels for vocoder fine-tuning: one file per row, the model's own output."""

import numpy as np

from tests.training.test_train import tiny_config
from training.evaluation.data import load_model, read_eval_rows
from training.trainer import train
from training.vocoder.data import read_clips
from training.vocoder.predict import write_predicted_mels


def test_predicted_mels_are_the_decoders_output_and_resume(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(tiny_dataset, run, epochs=1))
    out = tmp_path / "predicted"
    count = write_predicted_mels(run, tiny_dataset, out, splits=("train",), progress=False)
    rows = read_eval_rows(tiny_dataset, "train")
    assert count == len(rows) == len(list(out.glob("*.npy")))

    loaded = load_model(run)
    first = np.load(out / f"{rows[0].id}.npy")
    assert first.shape == (loaded.model.config.decoder.n_mels, 896)
    assert np.abs(first).max() <= 1.0 and first.std() > 0

    # a second call writes nothing new and keeps the files
    stamp = (out / f"{rows[0].id}.npy").stat().st_mtime_ns
    assert write_predicted_mels(run, tiny_dataset, out, splits=("train",), progress=False) == count
    assert (out / f"{rows[0].id}.npy").stat().st_mtime_ns == stamp

    # the fine-tuning data set finds them next to each clip
    clips = read_clips(tiny_dataset, splits=("train",), predicted_dir=out)
    assert clips and all(clip.predicted for clip in clips)
