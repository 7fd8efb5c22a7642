"""Bounded memory at ArtEmis scale: the manifest streams row by row, embedding tables are filled
batch by batch, and a cached data set needs no encoder (bench/dataset_scale.py measures it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.dataset.builder import _manifest_rows, _Pairs
from training.dataset.corpus import MusicRecord, PaintingRecord
from training.dataset.errors import DatasetError
from training.dataset.manifest import MANIFEST_FIELDS, write_manifest
from training.encoders import EncoderSpec
from training.features import (
    _cache_path,
    _encode_cached,
    cache_embeddings,
    load_cached_embeddings,
    read_manifest,
)


def _row(i: int) -> dict:
    return {name: f"{name}{i}" for name in MANIFEST_FIELDS}


def test_manifest_is_written_from_a_generator_one_row_at_a_time(tmp_path):
    made = []

    def rows():
        for i in range(5):
            made.append(i)
            yield _row(i)

    path = write_manifest(tmp_path, rows())
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"id{i}" for i in range(5)]
    assert made == list(range(5))


def test_a_bad_row_mid_stream_keeps_the_previous_manifest_and_no_temp_file(tmp_path):
    write_manifest(tmp_path, [_row(0)])
    before = (tmp_path / "manifest.jsonl").read_text()
    bad = {**_row(2)}
    bad.pop("split")
    with pytest.raises(ValueError, match="id2"):
        write_manifest(tmp_path, iter([_row(1), bad, _row(3)]))
    assert (tmp_path / "manifest.jsonl").read_text() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_repeated_row_id_is_refused_while_streaming(tmp_path):
    paintings = [PaintingRecord("a", tmp_path / "x.png", "calm sea", None, 1),
                 PaintingRecord("b", tmp_path / "y.png", "dark sky", None, 2),
                 PaintingRecord("a", tmp_path / "z.png", "gold light", None, 3)]
    music = [MusicRecord("m0", tmp_path / "0.wav", "song", 0.0, ("Music",), (), None, 1)]
    pairs = _Pairs(rows=np.arange(3), ranks=np.zeros(3, int), clips=np.zeros(3, int),
                   similarities=np.full(3, 0.5, np.float32))
    rows = _manifest_rows(paintings, music, [[]] * 3, [[]], pairs, ["train"] * 3, 1, tmp_path)
    assert [next(rows)["id"], next(rows)["id"]] == ["a", "b"]  # made one at a time
    with pytest.raises(DatasetError, match="'a' repeats"):
        next(rows)


def test_embedding_table_is_filled_batch_by_batch_and_cached(tmp_path):
    keys = [f"prompt {i}" for i in range(7)]
    batches = []

    def encode(batch):
        batches.append(len(batch))
        return np.array([[float(k.split()[1]), 1.0] for k in batch])

    path = tmp_path / "text.safetensors"
    table = _encode_cached(path, keys, encode, 3, "test")
    assert batches == [3, 3, 1]
    assert table.dtype == np.float32
    np.testing.assert_array_equal(table[:, 0], np.arange(7))
    again = _encode_cached(path, keys, lambda batch: pytest.fail("re-encoded"), 3, "test")
    np.testing.assert_array_equal(again, table)


def test_a_cached_data_set_builds_no_encoder(tmp_path):
    from tests.conftest import write_tiny_dataset

    dataset = write_tiny_dataset(tmp_path / "data", n_clips=2, rows_per_clip=2)
    rows = read_manifest(dataset)
    # An encoder family the factory does not know: building it would raise.
    spec = EncoderSpec("not-an-encoder", "x", None)
    for modality, keys in (("image", sorted({str(r.image_path) for r in rows})),
                           ("text", sorted({r.prompt for r in rows}))):
        _encode_cached(_cache_path(dataset, modality, spec), keys,
                       lambda batch: np.ones((len(batch), 3)), 2, modality)
    cache_embeddings(dataset, spec, spec)  # both caches there: nothing to build
    ids, image, text = load_cached_embeddings(dataset, spec, spec)
    assert ids == [r.id for r in rows] and image.shape == text.shape == (len(rows), 3)
    (dataset / "embeddings" / f"text-{spec.key}.safetensors").unlink()
    with pytest.raises(ValueError, match="unknown encoder family"):
        cache_embeddings(dataset, spec, spec)  # a missing cache does build its encoder
