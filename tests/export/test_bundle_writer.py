"""BundleWriter: staged files are hashed into the manifest, and a manifest naming a file that was
never staged is refused before anything replaces the bundle on disk."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from engine.bundle import read_manifest
from engine.manifest import DECODER, MANIFEST_NAME
from export.bundle import BundleWriter
from export.errors import ExportError


@pytest.fixture
def manifest(tiny_bundle):
    return read_manifest(tiny_bundle)


def _stage(writer: BundleWriter, source, names) -> None:
    for name in names:
        target = writer.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target)


def test_a_manifest_naming_an_unstaged_file_is_refused_and_nothing_is_replaced(
        tiny_bundle, manifest, tmp_path):
    out = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, out)
    before = (out / MANIFEST_NAME).read_bytes()
    decoder_file = manifest.graphs[DECODER].file
    staged = sorted(manifest.referenced_files() - {decoder_file})
    writer = BundleWriter(out)
    _stage(writer, tiny_bundle, staged)
    with pytest.raises(ExportError, match=f"bundle file {decoder_file} was never written"):
        writer.commit(manifest)
    writer.abort()
    assert (out / MANIFEST_NAME).read_bytes() == before
    assert (out / decoder_file).is_file()


def test_commit_hashes_exactly_the_staged_files_and_swaps_the_bundle_in(
        tiny_bundle, manifest, tmp_path):
    import hashlib

    out = tmp_path / "bundle"
    out.mkdir()
    writer = BundleWriter(out)
    names = sorted(manifest.referenced_files())
    _stage(writer, tiny_bundle, names)
    written = writer.commit(replace(manifest, files={}))
    expected = {name: hashlib.sha256((tiny_bundle / name).read_bytes()).hexdigest() for name in names}
    assert written.files == expected
    on_disk = json.loads((out / MANIFEST_NAME).read_text())
    assert on_disk["files"] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # staging folder gone


def test_a_failed_export_leaves_no_staging_folder(tmp_path):
    with pytest.raises(RuntimeError), BundleWriter(tmp_path / "bundle") as writer:
        writer.write_json("notes.json", {"a": 1})
        raise RuntimeError("export failed")
    assert list(tmp_path.iterdir()) == []


def test_abort_is_safe_to_repeat_and_after_a_commit(tiny_bundle, manifest, tmp_path):
    writer = BundleWriter(tmp_path / "aborted")
    writer.write_json("notes.json", {"a": 1})
    writer.abort()
    assert not writer.staging.exists()
    writer.abort()  # nothing left to remove: no error
    committed = BundleWriter(tmp_path / "bundle")
    _stage(committed, tiny_bundle, sorted(manifest.referenced_files()))
    committed.commit(manifest)
    committed.abort()  # the staging folder became the bundle: the bundle stays
    assert (tmp_path / "bundle" / MANIFEST_NAME).is_file()


def test_rewrite_bundle_keeps_every_other_file_writes_new_ones_and_leaves_out_none(
        tiny_bundle, tmp_path):
    """export.bundle.rewrite_bundle (the manifest-level tools' one write path): unknown manifest
    keys survive, named files are replaced, added or dropped, and the hashes follow."""
    import hashlib

    import numpy as np

    from engine.bundle import Bundle
    from export.bundle import rewrite_bundle

    source = Path(shutil.copytree(tiny_bundle, tmp_path / "source"))
    raw = json.loads((source / MANIFEST_NAME).read_text())
    raw["provenance"] = {**raw.get("provenance", {}), "note": "kept"}
    rewrite_bundle(Bundle.open(source), tmp_path / "out", raw,
                   {"extra.npy": np.arange(3, dtype=np.int16), "extra.json": {"a": 1}})
    out = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert out["provenance"]["note"] == "kept"
    assert np.load(tmp_path / "out" / "extra.npy").tolist() == [0, 1, 2]
    assert json.loads((tmp_path / "out" / "extra.json").read_text()) == {"a": 1}
    for name, digest in out["files"].items():
        assert hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest() == digest
    assert set(out["files"]) == set(json.loads((source / MANIFEST_NAME).read_text())["files"]) \
        | {"extra.npy", "extra.json"}
    rewrite_bundle(Bundle.open(tmp_path / "out"), None, out, {"extra.npy": None})  # in place
    again = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert "extra.npy" not in again["files"] and not (tmp_path / "out" / "extra.npy").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "source"]  # no staging left
