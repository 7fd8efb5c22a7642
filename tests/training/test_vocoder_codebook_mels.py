"""training.vocoder.codebook_mels: the token decoder's quantised Mels of real clips, as the
vocoder fine-tune reads predicted Mels."""

from __future__ import annotations

import numpy as np
import pytest

from core.audio_config import DEFAULT_AUDIO
from core.mel import fix_length, load_audio, log_mel, normalize
from tests.training.test_vocoder_finetune import write_wav_dataset
from training.evaluation.vocoder_floor import through_codebook
from training.vocoder.codebook_mels import load_codebook, main, write_codebook_mels
from training.vocoder.data import SegmentDataset, read_clips


@pytest.fixture(scope="module")
def wav_dataset(tmp_path_factory):
    return write_wav_dataset(tmp_path_factory.mktemp("codebook_data"))


def test_each_training_clip_gets_its_mel_through_the_codebooks(wav_dataset, tmp_path):
    books = np.random.default_rng(0).uniform(-1, 1, size=(2, 16, 80))
    files = write_codebook_mels(wav_dataset, books, tmp_path / "coded", progress=False)
    assert sorted(f.name for f in files) == ["clip0.npy", "clip1.npy", "clip2.npy"]
    clip = read_clips(wav_dataset)[1]
    samples = load_audio(clip.audio_path)[: DEFAULT_AUDIO.clip_samples]
    expected = through_codebook(fix_length(normalize(log_mel(samples)), DEFAULT_AUDIO.frames), books)
    coded = np.load(tmp_path / "coded" / "clip1.npy")
    assert coded.dtype == np.float16 and coded.shape == (80, DEFAULT_AUDIO.frames)
    np.testing.assert_allclose(coded, expected, atol=2e-3)
    # Only codebook vectors' sums come out: at most 16² distinct frames.
    assert len({frame.tobytes() for frame in coded.T}) <= 16 * 16
    # The fine-tune's data set pairs them with the clip's own audio.
    dataset = SegmentDataset(read_clips(wav_dataset, predicted_dir=tmp_path / "coded"), 2048,
                             predicted_fraction=1.0)
    mel, segment, flag = dataset[(1, 7)]
    assert flag == 1.0 and mel.shape == (80, 8) and segment.shape == (2048,)
    # Two processes write the same files.
    write_codebook_mels(wav_dataset, books, tmp_path / "pooled", progress=False, workers=2)
    np.testing.assert_array_equal(np.load(tmp_path / "pooled" / "clip1.npy"), coded)


def test_codebooks_come_from_a_token_bundle_or_a_file(tiny_token_bundle, tmp_path, capsys):
    books = load_codebook(bundle=tiny_token_bundle)
    assert books.ndim == 3 and books.shape[2] == 80
    saved = tmp_path / "books.npy"
    np.save(saved, books)
    np.testing.assert_array_equal(load_codebook(codebook=saved), books)
    with pytest.raises(ValueError, match="exactly one"):
        load_codebook()
    assert main(["--codebook", str(saved), "--dataset", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert "build the data set first" in capsys.readouterr().err


def test_a_bundle_without_a_token_decoder_is_refused(tiny_bundle):
    with pytest.raises(ValueError, match="no token decoder"):
        load_codebook(bundle=tiny_bundle)
