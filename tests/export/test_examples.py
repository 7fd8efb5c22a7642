"""Example pieces: held-out artworks through the engine into WAV + PNG + an index."""

import json

import numpy as np
import soundfile as sf

from export.examples import held_out_works, render_examples


def test_held_out_works_are_sample_artworks_never_trained_on():
    works = held_out_works()
    assert len(works) >= 3
    assert all(work["held_out"] and work["comments"] for work in works)


def test_examples_are_real_audio_with_a_spectrogram(tiny_bundle, tmp_path):
    records = render_examples(tiny_bundle, tmp_path, count=2)
    assert [r.id for r in records] == [w["id"] for w in held_out_works()[:2]]
    for record in records:
        audio, rate = sf.read(tmp_path / record.wav)
        assert rate == 22050 and abs(audio.size / rate - record.seconds) < 0.01
        assert np.isfinite(audio).all() and audio.std() > 0
        assert (tmp_path / record.png).stat().st_size > 20_000
        assert record.prompt and record.feelings
    index = json.loads((tmp_path / "examples.json").read_text())
    assert [e["id"] for e in index["examples"]] == [r.id for r in records]
