"""Bundle checks at load: a flipped byte, a missing file or a foreign manifest is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine import BundleError, Engine
from engine.bundle import Bundle


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))


def _edit_manifest(bundle: Path, edit) -> None:
    path = bundle / "manifest.json"
    values = json.loads(path.read_text())
    edit(values)
    path.write_text(json.dumps(values))


def test_a_flipped_byte_names_the_file_and_says_to_reexport(bundle_copy):
    target = bundle_copy / "decoder.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"decoder\.onnx is corrupt.*re-export") as info:
        Engine.load(bundle_copy, providers=["cpu"])
    assert str(info.value).count("\n") == 0


def test_a_tampered_caption_index_is_refused(bundle_copy):
    captions = bundle_copy / "captions.json"
    captions.write_text(captions.read_text().replace("piano", "banjo"))
    with pytest.raises(BundleError, match=r"captions\.json"):
        Bundle.open(bundle_copy)


def test_a_missing_file_is_named(bundle_copy):
    (bundle_copy / "vocoder.onnx").unlink()
    with pytest.raises(BundleError, match=r"vocoder\.onnx is missing"):
        Bundle.open(bundle_copy)


def test_a_file_without_hash_is_refused(bundle_copy):
    _edit_manifest(bundle_copy, lambda m: m["files"].pop("feelings.onnx"))
    with pytest.raises(BundleError, match=r"feelings\.onnx has no SHA-256"):
        Bundle.open(bundle_copy)


def test_a_directory_without_manifest_is_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not a model bundle"):
        Engine.load(tmp_path)


def test_a_newer_format_version_asks_for_a_matching_export(bundle_copy):
    _edit_manifest(bundle_copy, lambda m: m.update(format_version=99))
    with pytest.raises(BundleError, match="format_version 99"):
        Bundle.open(bundle_copy)


def test_verification_can_be_skipped_for_trusted_read_only_media(bundle_copy):
    (bundle_copy / "captions.json").write_text("{}")
    assert Bundle.open(bundle_copy, verify=False).manifest.caption_index.count == 4


@pytest.mark.parametrize("text", ['{"format_version": 1, "graphs": ', "\xff\xfe not json", ""])
def test_a_corrupt_manifest_is_named_in_one_sentence(bundle_copy, text):
    (bundle_copy / "manifest.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(BundleError, match=r"manifest\.json is unreadable.*re-export") as info:
        Engine.load(bundle_copy, providers=["cpu"])
    assert "\n" not in str(info.value)


def test_a_manifest_that_is_not_an_object_is_refused(bundle_copy):
    (bundle_copy / "manifest.json").write_text("[1, 2, 3]")
    with pytest.raises(BundleError, match=r"manifest\.json has format_version None"):
        Bundle.open(bundle_copy)


@pytest.mark.parametrize("edit", [lambda m: m.pop("audio"), lambda m: m.update(graphs=[1]),
                                  lambda m: m["graphs"]["decoder"].pop("inputs")])
def test_an_incomplete_manifest_is_named(bundle_copy, edit):
    _edit_manifest(bundle_copy, edit)
    with pytest.raises(BundleError, match=r"manifest\.json is incomplete"):
        Engine.load(bundle_copy, providers=["cpu"])


def test_a_tampered_hash_in_the_manifest_names_the_file(bundle_copy):
    _edit_manifest(bundle_copy, lambda m: m["files"].update({"vocoder.onnx": "0" * 64}))
    with pytest.raises(BundleError, match=r"vocoder\.onnx is corrupt or was modified"):
        Engine.load(bundle_copy, providers=["cpu"])


def test_a_replaced_graph_is_refused_even_if_it_is_a_valid_onnx_file(bundle_copy):
    shutil.copyfile(bundle_copy / "feelings.onnx", bundle_copy / "text_encoder.onnx")
    with pytest.raises(BundleError, match=r"text_encoder\.onnx is corrupt"):
        Engine.load(bundle_copy, providers=["cpu"])


def test_file_names_outside_the_bundle_are_refused(bundle_copy):
    _edit_manifest(bundle_copy, lambda m: m["files"].update({"../outside.bin": "0" * 64}))
    with pytest.raises(BundleError, match=r"\.\./outside\.bin .*outside the bundle"):
        Bundle.open(bundle_copy)


LARGE_FILE_BYTES = 3 * (1 << 20) + 12_345
"""Larger than sha256_file's 1 MiB read block, so every block of the file must be hashed."""


def _add_large_file(bundle: Path) -> Path:
    """A 3 MiB file listed in the manifest with its SHA-256 from hashlib over the whole file."""
    import hashlib

    data = np.random.default_rng(0).integers(0, 256, LARGE_FILE_BYTES, dtype=np.uint8).tobytes()
    path = bundle / "notes.bin"
    path.write_bytes(data)
    _edit_manifest(bundle, lambda m: m["files"].update({"notes.bin": hashlib.sha256(data).hexdigest()}))
    return path


def test_the_file_hash_covers_every_block_of_a_large_file(tmp_path):
    import hashlib

    from engine.bundle import sha256_file

    data = np.random.default_rng(1).integers(0, 256, LARGE_FILE_BYTES, dtype=np.uint8).tobytes()
    path = tmp_path / "large.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, block_size=4096) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("offset", [0, (1 << 20) + 7, LARGE_FILE_BYTES - 1])
def test_a_flipped_byte_anywhere_in_a_large_file_is_refused(bundle_copy, offset):
    path = _add_large_file(bundle_copy)
    Bundle.open(bundle_copy)  # intact: accepted
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x80
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="notes.bin is corrupt or was modified"):
        Bundle.open(bundle_copy)


def test_a_large_file_cut_short_by_one_byte_is_refused(bundle_copy):
    path = _add_large_file(bundle_copy)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(BundleError, match="notes.bin is corrupt"):
        Bundle.open(bundle_copy)


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize("outside", ["../decoder.onnx", "/tmp/decoder.onnx", "sub/../../x.onnx"])
def test_a_manifest_path_outside_the_bundle_is_refused_with_or_without_hashes(
        tmp_path, verify, outside):
    """Skipping the hash check (read-only media) must not let a manifest point the engine at a
    file elsewhere on the machine: the refused file sits next to the bundle, readable."""
    from tests.engine import handmade_bundle as hb

    bundle = hb.write_bundle(tmp_path / "bundle")
    (tmp_path / "decoder.onnx").write_bytes((bundle / "decoder.onnx").read_bytes())

    def point_outside(values):
        values["graphs"]["decoder"]["file"] = outside
        values["files"][outside] = values["files"].pop("decoder.onnx")

    _edit_manifest(bundle, point_outside)
    with pytest.raises(BundleError, match=r"points outside the bundle directory.*re-export"):
        Engine.load(bundle, providers=["cpu"], verify=verify, warmup=False)
