"""Reads a model bundle directory and checks it: format version, file list, SHA-256 of each file."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BundleError
from engine.manifest import FORMAT_VERSION, MANIFEST_NAME, Manifest

logger = logging.getLogger(__name__)

_REEXPORT = "re-export it with `main.py export` or re-install the bundle"


def sha256_file(path: Path, block_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> Manifest:
    """Parses `<directory>/manifest.json`; raises BundleError when absent, unreadable or too new."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(f"{directory} is not a model bundle (no {MANIFEST_NAME}); {_REEXPORT}.")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path} is unreadable ({error}); {_REEXPORT}.") from error
    version = values.get("format_version") if isinstance(values, dict) else None
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise BundleError(
            f"{path} has format_version {version!r} but this engine reads versions 1 to "
            f"{FORMAT_VERSION}; {_REEXPORT} with this version of the code."
        )
    try:
        return Manifest.from_dict(values)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{path} is incomplete (missing or bad {error}); {_REEXPORT}.") from error


def check_paths(manifest: Manifest) -> None:
    """Raises BundleError when a file the manifest names (hashed or opened) lies outside the
    bundle directory: an absolute path or one with ``..``. Run whether or not hashes are
    verified, so a manifest cannot make the engine open a file elsewhere on the machine."""
    for name in sorted(manifest.referenced_files() | set(manifest.files)):
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise BundleError(f"bundle file {name} in {MANIFEST_NAME} points outside the bundle "
                              f"directory; {_REEXPORT}.")


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Raises BundleError naming the first file that is unlisted, outside the bundle, missing or
    whose hash differs."""
    unlisted = sorted(manifest.referenced_files() - set(manifest.files))
    if unlisted:
        raise BundleError(f"bundle file {unlisted[0]} has no SHA-256 in {MANIFEST_NAME}; "
                          f"{_REEXPORT}.")
    check_paths(manifest)
    for name, expected in sorted(manifest.files.items()):
        path = Path(directory) / name
        if not path.is_file():
            raise BundleError(f"bundle file {name} is missing from {directory}; {_REEXPORT}.")
        try:
            actual = sha256_file(path)
        except OSError as error:
            raise BundleError(f"bundle file {name} cannot be read ({error.strerror}); "
                              f"{_REEXPORT}.") from error
        if actual != expected:
            raise BundleError(f"bundle file {name} is corrupt or was modified (SHA-256 mismatch); "
                              f"{_REEXPORT}.")


@dataclass(frozen=True)
class Bundle:
    """A checked bundle: its directory and parsed manifest."""

    directory: Path
    manifest: Manifest

    @classmethod
    def open(cls, directory: str | Path, verify: bool = True) -> Bundle:
        directory = Path(directory)
        manifest = read_manifest(directory)
        if verify:
            verify_files(directory, manifest)
        else:
            check_paths(manifest)
        logger.info("bundle %s: %d files%s", directory, len(manifest.files),
                    ", hashes verified" if verify else "")
        return cls(directory, manifest)

    def path(self, name: str) -> Path:
        return self.directory / name

    def provenance_path(self, value: str | None) -> Path | None:
        """A path recorded in the manifest's provenance (relative to the bundle directory;
        absolute in bundles written before that rule) as a path on this machine."""
        return None if not value else (self.directory / value)
