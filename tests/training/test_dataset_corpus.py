"""Reading the two input corpora (docs/CONTRACTS.md) with errors a user can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.dataset.corpus import read_music, read_paintings, safe_id
from training.dataset.errors import DatasetError


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n"
                            for row in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for name in ("a.png", "b.png", "song.wav"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_paintings_read_with_relative_paths_and_unique_ids(files):
    path = write_jsonl(files / "paintings.jsonl", [
        {"image_path": "a.png", "comment": "  So   sad\n", "emotion": "Sadness", "id": "w1"},
        "",
        {"image_path": str(files / "b.png"), "comment": "calm", "id": "w1"},
        {"image_path": "a.png", "comment": "happy"},
    ])
    records = read_paintings(path)
    assert [r.id for r in records] == ["w1", "w1-2", "p0000004"]
    assert records[0].image_path == files / "a.png"
    assert records[0].comment == "So sad" and records[0].emotion == "sadness"
    assert records[1].emotion is None
    assert [r.line for r in records] == [1, 3, 4]
    assert len(read_paintings(path, limit=2)) == 2


def test_music_read_with_defaults_and_derived_ids(files):
    path = write_jsonl(files / "music.jsonl", [
        {"audio_path": "song.wav", "caption": "A sad piano.", "offset": 2, "labels": ["Music"],
         "keywords": ["piano", "sad"], "id": "clip/1", "licence": "CC0"},
        {"audio_path": "song.wav", "caption": "Same file, later."},
    ])
    first, second = read_music(path)
    assert first.offset == 2.0 and first.labels == ("Music",) and first.keywords == ("piano", "sad")
    assert "/" not in first.audio_id and first.audio_id.startswith("clip_1")
    assert second.keywords is None and second.labels == () and second.offset == 0.0
    assert second.audio_id.startswith("song-") and second.audio_id != first.audio_id


def test_bad_json_line_names_its_line_number(files):
    path = write_jsonl(files / "paintings.jsonl", [
        {"image_path": "a.png", "comment": "fine"}, "{not json", ])
    with pytest.raises(DatasetError, match=r"line 2 is not valid JSON"):
        read_paintings(path)


@pytest.mark.parametrize("row, message", [
    ({"image_path": "a.png"}, r"line 1: field 'comment' is missing"),
    ({"image_path": "missing.png", "comment": "x"}, r"line 1: image file .* does not exist"),
    (["a", "list"], r"line 1 is not a JSON object"),
])
def test_bad_painting_rows_say_what_to_fix(files, row, message):
    with pytest.raises(DatasetError, match=message):
        read_paintings(write_jsonl(files / "p.jsonl", [row]))


@pytest.mark.parametrize("row, message", [
    ({"audio_path": "song.wav", "caption": "x", "offset": -1}, r"offset must be a number"),
    ({"audio_path": "song.wav", "caption": "x", "labels": "Music"}, r"list of strings"),
    ({"audio_path": "gone.wav", "caption": "x"}, r"audio file .* does not exist"),
])
def test_bad_music_rows_say_what_to_fix(files, row, message):
    with pytest.raises(DatasetError, match=message):
        read_music(write_jsonl(files / "m.jsonl", [row]))


def test_duplicate_music_ids_are_refused(files):
    row = {"audio_path": "song.wav", "caption": "x", "id": "same"}
    with pytest.raises(DatasetError, match="already used on line 1"):
        read_music(write_jsonl(files / "m.jsonl", [row, row]))


def test_missing_and_empty_corpora(files):
    with pytest.raises(DatasetError, match="does not exist"):
        read_paintings(files / "nope.jsonl")
    with pytest.raises(DatasetError, match="holds no records"):
        read_music(write_jsonl(files / "empty.jsonl", ["", "  "]))


def test_safe_id_keeps_clean_ids_and_hashes_changed_ones():
    assert safe_id("clip_01.a-b") == "clip_01.a-b"
    assert safe_id("a/b") != safe_id("a:b")
    assert "/" not in safe_id("../../etc/passwd")
