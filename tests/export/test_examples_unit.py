"""Known answers for the example renderer (export/examples.py) with a stand-in engine, so that the
measured facts (level, peak, centroid, gain) are checked against closed forms, fast."""

from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import soundfile as sf

import export.examples as examples
from core.audio_config import DEFAULT_AUDIO
from core.loudness import estimate_rms_dbfs

RATE = 22050


def _works(root):
    comments = root / "comments.json"
    paintings = [
        {"id": "a", "title": "Alpha", "artist": "Anné", "held_out": True,
         "comments": [{"text": "first of a"}, {"text": "second"}]},
        {"id": "b", "title": "Beta", "artist": "Bob", "held_out": False,
         "comments": [{"text": "b"}]},
        {"id": "c", "title": "Gamma", "artist": "Cy", "held_out": True,
         "comments": [{"text": "c words"}]},
        {"id": "d", "title": "Delta", "artist": "Di", "comments": [{"text": "d"}]},
        {"id": "e", "title": "Eps", "artist": "Ed", "held_out": True, "comments": [{"text": "e"}]},
        {"id": "nofile", "title": "N", "artist": "N", "held_out": True, "comments": [{"text": "n"}]},
    ]
    comments.write_text(json.dumps({"paintings": paintings}), encoding="utf-8")
    art = root / "art"
    art.mkdir()
    for name in ("a", "b", "c", "d", "e"):
        image = np.zeros((24, 32, 3), dtype=np.uint8)
        image[..., 0] = 250  # blue in OpenCV's BGR order
        cv2.imwrite(str(art / f"{name}.jpg"), image)
    return comments, art


def test_held_out_works_need_the_flag_and_the_image(tmp_path) -> None:
    comments, art = _works(tmp_path)
    assert [w["id"] for w in examples.held_out_works(comments, art)] == ["a", "c", "e"]


def test_held_out_works_default_to_the_shipped_files() -> None:
    works = examples.held_out_works()
    ids = [w["id"] for w in works]
    assert "renoir_bal_du_moulin_de_la_galette" in ids
    assert "arcimboldo_spring" not in ids  # not held out
    assert examples.COMMENTS.name == "masterpiece_comments.json"
    assert examples.ARTWORKS.name == "artworks"


class _Piece:
    def __init__(self, rgb, comment, amplitude=0.25, freq=1000.0, gain=2.0) -> None:
        self.rgb, self.comment, self.gain = rgb, comment, gain
        t = np.arange(RATE) / RATE
        self.audio = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        self.sample_rate, self.hop_length = RATE, 256
        self.log_mel = np.full((80, 86), -4.0, dtype=np.float32)
        self.reading = SimpleNamespace(text=f"reading of {comment or 'nothing'}")
        self.feelings = ("awe", "fear")
        self.prompt = f"prompt: {comment}"
        self.seconds = 1.004
        self.seed = None

    def playback_audio(self):
        return self.audio


class _Engine:
    def __init__(self) -> None:
        self.audio, self.vocoder_name, self.calls = DEFAULT_AUDIO, "hifigan-tiny", []
        self.seeds = []

    def compose(self, rgb, comment, seed=None):
        self.calls.append((rgb, comment))
        self.seeds.append(seed)
        piece = _Piece(rgb, comment)
        piece.seed = seed
        return piece


@pytest.fixture
def fake(tmp_path, monkeypatch):
    comments, art = _works(tmp_path)
    engine = _Engine()
    loaded = []
    monkeypatch.setattr(examples, "ARTWORKS", art)
    monkeypatch.setattr(examples, "held_out_works", lambda: _orig_held(comments, art))
    monkeypatch.setattr(examples.Engine, "load", staticmethod(lambda path: loaded.append(path) or engine))
    return engine, loaded


_orig_held = examples.held_out_works


def test_records_are_measured_facts(fake, tmp_path) -> None:
    engine, loaded = fake
    out = tmp_path / "out" / "nested"
    bundle = tmp_path / "my-bundle"
    records = examples.render_examples(bundle, out, count=2)
    assert loaded == [bundle]
    assert [r.id for r in records] == ["a", "c"]
    assert [c for _, c in engine.calls] == ["first of a", "c words"]
    rgb = engine.calls[0][0]
    assert rgb.shape == (24, 32, 3) and rgb.dtype == np.uint8
    assert rgb[..., 2].mean() > 200 and rgb[..., 0].mean() < 50  # RGB order: blue last
    r = records[0]
    assert (r.title, r.artist, r.comment) == ("Alpha", "Anné", "first of a")
    assert r.commentary == "reading of first of a"
    assert r.feelings == ["awe", "fear"]
    assert r.prompt == "prompt: first of a"
    assert r.seconds == 1.0
    assert r.gain_db == round(20 * np.log10(2.0), 1) == 6.0
    assert r.rms_dbfs == round(20 * np.log10(0.25 / np.sqrt(2)), 1) == -15.1
    assert r.peak == 0.25
    assert r.peak_limit_db == 0.0  # 0.25 is below the file's 0.98 ceiling: untouched
    assert r.seed == 0 and engine.seeds == [0, 0]  # the default seed, passed to every piece
    assert r.spectral_centroid_hz == pytest.approx(1000.0, rel=0.03)
    import librosa

    centroid = librosa.feature.spectral_centroid(y=_Piece(None, "").audio, sr=RATE)
    assert r.spectral_centroid_hz == round(float(np.mean(centroid)), 1)
    assert r.raw_rms_dbfs == round(estimate_rms_dbfs(np.full((80, 86), -4.0, np.float32)), 1)
    assert (r.wav, r.png) == ("a.wav", "a.png")
    audio, rate = sf.read(out / "a.wav", dtype="float32")
    assert rate == RATE
    assert sf.info(str(out / "a.wav")).subtype == "PCM_16"
    np.testing.assert_allclose(audio, _Piece(None, "").audio, atol=1.0 / 32768 + 1e-6)
    png = cv2.imread(str(out / "a.png"))
    assert png.shape[:2] == (462, 1430)  # 13 × 4.2 in at 110 dpi
    index = json.loads((out / "examples.json").read_text(encoding="utf-8"))
    assert index["bundle"] == "my-bundle"
    assert index["vocoder"] == "hifigan-tiny"
    assert index["examples"][1]["id"] == "c"
    assert index["examples"][0]["rms_dbfs"] == -15.1
    assert set(index["examples"][0]) == {
        "id", "title", "artist", "comment", "commentary", "feelings", "prompt", "seconds",
        "raw_rms_dbfs", "gain_db", "rms_dbfs", "peak", "spectral_centroid_hz", "wav", "png",
        "seed", "peak_limit_db"}
    assert (out / "examples.json").read_text(encoding="utf-8").endswith("}\n")
    assert '"artist": "Anné"' in (out / "examples.json").read_text(encoding="utf-8")


def test_silent_visitor_and_default_count(fake, tmp_path, monkeypatch) -> None:
    engine, _ = fake
    monkeypatch.setattr(examples, "_save_png", lambda *args: None)  # the picture: see above
    examples.render_examples(tmp_path / "b", tmp_path / "o", count=1)
    engine.calls.clear()
    records = examples.render_examples(tmp_path / "b", tmp_path / "o", with_comment=False)  # again
    assert [r.id for r in records] == ["a", "c", "e"]
    assert [c for _, c in engine.calls] == ["", "", ""]
    assert records[0].comment == ""
    assert records[0].commentary == "reading of nothing"


def test_no_reading_gives_empty_commentary(fake, tmp_path, monkeypatch) -> None:
    engine, _ = fake
    monkeypatch.setattr(examples, "_save_png", lambda *args: None)

    def compose(rgb, comment, seed=None):
        piece = _Piece(rgb, comment)
        piece.reading = None
        return piece

    monkeypatch.setattr(engine, "compose", compose)
    records = examples.render_examples(tmp_path / "b", tmp_path / "o", count=1)
    assert records[0].commentary == ""


def test_a_silent_piece_reports_the_floor(fake, tmp_path, monkeypatch) -> None:
    engine, _ = fake
    monkeypatch.setattr(examples, "_save_png", lambda *args: None)

    def compose(rgb, comment, seed=None):
        return _Piece(rgb, comment, amplitude=0.0, gain=1.0)

    monkeypatch.setattr(engine, "compose", compose)
    record = examples.render_examples(tmp_path / "b", tmp_path / "o", count=1)[0]
    assert record.rms_dbfs == -180.0  # 20·log10(1e-9)
    assert record.gain_db == 0.0
    assert record.peak == 0.0


def test_main_passes_its_arguments(monkeypatch, capsys, tmp_path) -> None:
    seen = []
    record = SimpleNamespace(id="a", seconds=1.0, rms_dbfs=-20.0, peak=0.5,
                             spectral_centroid_hz=900.0, feelings=["awe"])

    def render(bundle, out, count, with_comment, seed):
        seen.append((bundle, out, count, with_comment, seed))
        return [record]

    monkeypatch.setattr(examples, "render_examples", render)
    assert examples.main(["--bundle", str(tmp_path / "b"), "--out", str(tmp_path / "o"),
                          "--count", "5", "--no-comment", "--seed", "4"]) == 0
    assert seen[-1] == (tmp_path / "b", tmp_path / "o", 5, False, 4)
    assert examples.main([]) == 0
    root = examples.REPO_ROOT
    assert seen[-1] == (root / "assets" / "bundle", root / "assets" / "examples", 3, True, 0)
    assert "a:" in capsys.readouterr().out


def test_spectrogram_picture(tmp_path, monkeypatch) -> None:
    import librosa
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(examples.plt, "close", figures.append)
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[..., 1] = 200
    audio = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(RATE) / RATE)).astype(np.float32)
    log_mel = np.zeros((64, 86), dtype=np.float32)
    examples._save_png(tmp_path / "p.png", rgb, log_mel, audio, RATE, 256, "T")
    (figure,) = figures
    try:
        assert tuple(figure.get_size_inches()) == pytest.approx((13, 4.2))
        left, right, bar = figure.axes
        assert left.get_subplotspec().get_gridspec().get_width_ratios() == [1, 2.4]
        assert left.get_position().x1 < right.get_position().x0
        centre = [(a.get_position().y0 + a.get_position().y1) / 2 for a in (left, right)]
        assert centre[0] == pytest.approx(centre[1], abs=0.05)  # side by side, not stacked
        assert not left.axison
        np.testing.assert_array_equal(left.images[0].get_array(), rgb)
        image = right.images[0]
        power = np.abs(librosa.stft(audio, n_fft=1024, hop_length=256)) ** 2
        mel = librosa.feature.melspectrogram(S=power, sr=RATE, n_mels=64, fmax=RATE / 2)
        np.testing.assert_allclose(image.get_array(), librosa.power_to_db(mel, ref=np.max), atol=1e-4)
        assert image.get_extent() == pytest.approx([0, 1.0, 0, 64])
        assert image.origin == "lower"
        assert image.get_cmap().name == "magma"
        assert right.get_aspect() == "auto"
        # The colour bar takes fraction 0.03 + pad 0.05 of the spectrogram's original width, so
        # the gap (pad) over what is left is 0.05 / (1 - 0.03 - 0.05).
        gap = bar.get_position().x0 - right.get_position().x1
        assert gap / right.get_position().width == pytest.approx(0.05 / 0.92, rel=0.02)
    finally:
        plt.close(figure)
    assert cv2.imread(str(tmp_path / "p.png")).shape[:2] == (462, 1430)


def test_a_piece_louder_than_full_scale_is_scaled_down_whole_not_clipped(fake, tmp_path,
                                                                          monkeypatch) -> None:
    engine, _ = fake
    monkeypatch.setattr(examples, "_save_png", lambda *args: None)

    def compose(rgb, comment, seed=None):
        return _Piece(rgb, comment, amplitude=1.6)  # the playback audio peaks at 1.6

    monkeypatch.setattr(engine, "compose", compose)
    record = examples.render_examples(tmp_path / "b", tmp_path / "o", count=1)[0]
    assert record.peak == 0.98
    assert record.peak_limit_db == round(20 * np.log10(0.98 / 1.6), 1) == -4.3
    assert record.rms_dbfs == round(20 * np.log10(0.98 / np.sqrt(2)), 1)  # a sine, scaled whole
    audio, _ = sf.read(tmp_path / "o" / "a.wav", dtype="float32")
    assert float(np.max(np.abs(audio))) == pytest.approx(0.98, abs=1e-4)
