"""`main.py index-collection` and `main.py match-art`, in-process through main.main, on the real
bundle + a small music encoder (tests/retrieval_fixture.py), real pictures and real audio files."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
import soundfile as sf

import main
from engine.collection import CollectionIndex, read_sidecar
from tests.retrieval_fixture import REPO, SHIPPED_BUNDLE, retrieval_bundle

SAMPLES = REPO / "assets" / "artworks"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    bundle = retrieval_bundle(tmp_path_factory.mktemp("retrieval"))
    folder = tmp_path_factory.mktemp("gallery")
    for name in ("leonardo_mona_lisa.jpg", "hokusai_the_great_wave_off_kanagawa.jpg"):
        shutil.copy(SAMPLES / name, folder / name)
    cv2.imwrite(str(folder / "blue_study.png"), np.full((60, 80, 3), (200, 60, 20), np.uint8))
    (folder / "broken.jpg").write_bytes(b"not a picture")
    (folder / "artworks.json").write_text(json.dumps([
        {"file": "leonardo_mona_lisa.jpg", "title": "Mona Lisa", "artist": "Leonardo da Vinci"},
        {"file": "hokusai_the_great_wave_off_kanagawa.jpg", "title": "The Great Wave",
         "artist": "Hokusai"}]))
    return bundle, folder


def test_index_collection_reads_titles_and_skips_broken_pictures(indexed, capsys):
    bundle, folder = indexed
    assert main.main(["index-collection", str(folder), "--bundle", str(bundle)]) == 0
    out, err = capsys.readouterr()
    assert "skipped broken.jpg" in err and "indexed 3 artworks" in out
    index = CollectionIndex.load(folder / "index.npz")
    titles = {e.path: (e.title, e.artist) for e in index.entries}
    assert titles == {"blue_study.png": ("Blue study", ""),
                      "hokusai_the_great_wave_off_kanagawa.jpg": ("The Great Wave", "Hokusai"),
                      "leonardo_mona_lisa.jpg": ("Mona Lisa", "Leonardo da Vinci")}
    assert index.image_embeddings.shape == (3, 1339)
    assert all(len(e.feelings) == 3 and e.commentary for e in index.entries)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert index.image_graph_sha256 == manifest["files"]["image_encoder.onnx"]


def _song(path, seconds=16.0, sample_rate=22050, loud_from=5.0):
    """Quiet noise with a loud chord from `loud_from` for 10.4 s (the highlight to find)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    audio = 0.01 * np.random.default_rng(0).standard_normal(t.size)
    loud = (t >= loud_from) & (t < loud_from + 10.4)
    audio[loud] += 0.1 * sum(np.sin(2 * np.pi * f * t[loud]) for f in (220, 277, 330, 440))
    sf.write(path, audio.astype(np.float32), sample_rate)
    return path


def test_match_art_prints_the_ranked_collection(indexed, tmp_path, capsys):
    bundle, folder = indexed
    main.main(["index-collection", str(folder), "--bundle", str(bundle)])
    capsys.readouterr()
    song = _song(tmp_path / "song.wav")
    code = main.main(["match-art", str(song), "--bundle", str(bundle), "--index",
                      str(folder / "index.npz"), "--top", "3"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.strip().splitlines()
    assert "of 0:16.0; top 3 of 3 artworks" in lines[0]
    start = float(lines[0].split("highlight 0:")[1].split("–")[0])
    assert start == pytest.approx(5.0, abs=0.3)
    assert [line.split(".")[0].strip() for line in lines[1:]] == ["1", "2", "3"]
    scores = [float(line.split()[1]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)
    assert any("Mona Lisa — Leonardo da Vinci" in line for line in lines[1:])


@pytest.mark.parametrize("name, content, message", [
    ("empty.wav", b"", "is empty (0 bytes)"),
    ("notes.wav", b"these are my notes, not audio" * 10, "cannot be read as audio"),
])
def test_bad_files_get_one_sentence(indexed, tmp_path, capsys, name, content, message):
    bundle, folder = indexed
    path = tmp_path / name
    path.write_bytes(content)
    assert main.main(["match-art", str(path), "--bundle", str(bundle), "--index",
                      str(folder / "index.npz")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_silent_and_missing_files(indexed, tmp_path, capsys):
    bundle, folder = indexed
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050, np.float32), 22050)
    args = ["--bundle", str(bundle), "--index", str(folder / "index.npz")]
    assert main.main(["match-art", str(silent), *args]) == 2
    assert "is silent" in capsys.readouterr().err
    assert main.main(["match-art", str(tmp_path / "nowhere.wav"), *args]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_hour_long_file_is_searched_in_its_first_ten_minutes(indexed, tmp_path, capsys):
    bundle, folder = indexed
    rate = 8000
    hour = tmp_path / "hour.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(hour, "w", rate, 1, "PCM_16") as handle:
        for _minute in range(60):
            handle.write((0.05 * rng.standard_normal(60 * rate)).astype(np.float32))
    code = main.main(["match-art", str(hour), "--bundle", str(bundle), "--index",
                      str(folder / "index.npz"), "--top", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "is 60:00.0 long; its highlight is looked for in the first 10:00.0 only" in out
    minutes, seconds = out.split(": highlight ")[1].split("–")[0].split(":")
    assert 0 <= float(minutes) * 60 + float(seconds) <= 600 - 10.4
    assert "of 60:00.0; top 1 of 3 artworks" in out


def test_missing_index_and_bundle_without_a_music_encoder(indexed, tmp_path, capsys):
    bundle, _ = indexed
    song = _song(tmp_path / "song.wav", 2.0)
    assert main.main(["match-art", str(song), "--bundle", str(bundle), "--index",
                      str(tmp_path / "none.npz")]) == 1
    assert "main.py index-collection" in capsys.readouterr().err
    if "retrieval" not in json.loads((SHIPPED_BUNDLE / "manifest.json").read_text()):
        assert main.main(["match-art", str(song), "--bundle", str(SHIPPED_BUNDLE)]) == 1
        assert "export.music_encoder" in capsys.readouterr().err


def test_sidecar_csv_and_json_forms(tmp_path):
    (tmp_path / "artworks.csv").write_text("file,title,artist\nsub/a.jpg,A title,Someone\n"
                                           "b.png,,\n")
    assert read_sidecar(tmp_path) == {"a.jpg": {"title": "A title", "artist": "Someone"},
                                      "b.png": {"title": "", "artist": ""}}
    (tmp_path / "artworks.csv").unlink()
    (tmp_path / "artworks.json").write_text(json.dumps({"c.jpg": {"title": "C"}}))
    assert read_sidecar(tmp_path) == {"c.jpg": {"title": "C", "artist": ""}}
    assert read_sidecar(tmp_path / "nothing-here") == {}


def test_shipped_index_covers_the_sample_artworks():
    index = CollectionIndex.load(SAMPLES / "index.npz")
    names = sorted(p.name for p in SAMPLES.glob("*.jpg"))
    assert sorted(e.path for e in index.entries) == names
    assert all(index.resolve(e).is_file() for e in index.entries)
    titles = {e.path: e.title for e in index.entries}
    assert titles["leonardo_mona_lisa.jpg"] == "Mona Lisa"
    manifest = json.loads((SHIPPED_BUNDLE / "manifest.json").read_text())
    assert index.image_graph_sha256 == manifest["files"]["image_encoder.onnx"]
