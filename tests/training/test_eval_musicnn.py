"""The PyTorch musicnn port reproduces the original TensorFlow MTT_musicnn outputs.

The fixture holds two int16 test signals, musicnn's own front-end output for them and the TF
graph's outputs, written by `training/evaluation/convert_musicnn.py reference` in a TF venv.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from training.evaluation.musicnn import MusicnnEmbedder, log_mel, patches

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "musicnn_mtt_reference.npz"
SIGNALS = ("notes", "noise")
OUTPUTS = ("taggram", "penultimate", "mean_pool", "max_pool")
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def embedder() -> MusicnnEmbedder:
    return MusicnnEmbedder()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


def audio_of(reference, name) -> np.ndarray:
    return reference[f"{name}/audio"].astype(np.float32) / 32768.0


@pytest.mark.parametrize("name", SIGNALS)
def test_front_end_matches_musicnn_batch_data(reference, name):
    ours = patches(log_mel(audio_of(reference, name), 16000))
    theirs = reference[f"{name}/mel"].astype(np.float32)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < TOLERANCE


@pytest.mark.parametrize("name", SIGNALS)
def test_network_matches_tensorflow_on_the_same_input(embedder, reference, name):
    with torch.inference_mode():
        out = embedder.model(torch.from_numpy(reference[f"{name}/mel"].astype(np.float32)))
    for key in OUTPUTS:
        error = np.abs(getattr(out, key).numpy() - reference[f"{name}/{key}"]).max()
        assert error < TOLERANCE, f"{name}/{key}: max abs error {error:.2e}"


@pytest.mark.parametrize("name", SIGNALS)
def test_audio_to_embedding_matches_tensorflow(embedder, reference, name):
    frames = embedder.embed_frames(audio_of(reference, name), 16000)
    expected = reference[f"{name}/penultimate"]
    assert frames.shape == expected.shape == (expected.shape[0], 200)
    assert np.abs(frames - expected).max() < TOLERANCE


def test_tags_tell_notes_from_noise(embedder, reference):
    notes = [tag for tag, _ in embedder.top_tags(audio_of(reference, "notes"), 16000, k=3)]
    noise = [tag for tag, _ in embedder.top_tags(audio_of(reference, "noise"), 16000, k=3)]
    assert "piano" in notes and "piano" not in noise


def test_loud_and_short_clips_give_finite_embeddings(embedder):
    t = np.arange(22050) / 22050
    loud = 0.9 * np.sin(2 * np.pi * 440 * t)  # overflows musicnn's float16 Mel arithmetic
    out = embedder.embed_frames(loud.astype(np.float32), 22050)
    assert out.shape == (1, 200) and np.all(np.isfinite(out))  # 1 s: repeat-padded to 3 s


def test_name_states_model_layer_and_provenance(embedder):
    assert "MTT_musicnn" in embedder.name and "penultimate" in embedder.name
    assert "musicnn 0.1.0" in embedder.name and len(embedder.tags) == 50


def test_missing_weights_error_says_how_to_convert(tmp_path):
    with pytest.raises(FileNotFoundError, match="convert_musicnn.py convert"):
        MusicnnEmbedder(tmp_path / "nope.safetensors")
