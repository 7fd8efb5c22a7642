"""Caption corpus for the prompt's caption index: data sets and music corpora, deduplicated."""

from __future__ import annotations

import json

import pytest

from export.captions import read_captions
from export.errors import ExportError
from tests.export.bundle_fixture import write_captions


def test_music_corpus_captions_are_deduplicated_with_licences(tmp_path):
    corpus = read_captions(write_captions(tmp_path / "music.jsonl"))
    assert [e.caption for e in corpus.entries][:2] == [
        "a sad slow piano ballad in a minor key",
        "energetic rock song with loud drums and distorted guitars"]
    assert len(corpus.entries) == 4
    assert corpus.entries[0].labels == ("Music", "Piano")
    assert corpus.licences == {"CC0", "CC-BY-4.0"}


def test_data_set_manifest_rows_give_labels_and_keywords(tmp_path):
    rows = [{"caption": "soft harp", "audio_labels": ["Music", "Harp"],
             "caption_keywords": ["soft"]},
            {"caption": "soft harp", "audio_labels": ["Music"], "caption_keywords": []}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    corpus = read_captions(tmp_path)
    assert [(e.caption, e.labels, e.keywords) for e in corpus.entries] == [
        ("soft harp", ("Music", "Harp"), ("soft",))]


def test_missing_or_empty_caption_sources_are_explained(tmp_path):
    with pytest.raises(ExportError, match="no captions at"):
        read_captions(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ExportError, match="holds no captions"):
        read_captions(tmp_path / "empty.jsonl")
