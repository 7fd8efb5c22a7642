"""Bundle checks at load: a flipped byte, a missing file or a foreign manifest is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
