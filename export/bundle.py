"""Writes a model bundle: files go to a staging folder, hashes into the manifest, then one swap.

The reader is engine/bundle.py; the schema is engine/manifest.py. A bundle being written never
replaces a complete one until everything (manifest last) is on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx

from engine.bundle import Bundle, sha256_file
from engine.manifest import MANIFEST_NAME, Manifest
from export.errors import ExportError
from export.onnx_export import save_onnx


class BundleWriter:
    """Stages bundle files under ``.<name>.partial-<pid>`` next to `out_dir`; `commit` swaps in."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir).resolve()
        if self.out_dir.exists() and any(self.out_dir.iterdir()) \
                and not (self.out_dir / MANIFEST_NAME).is_file():
            raise ExportError(f"{self.out_dir} exists and is not a model bundle; choose an empty "
                              "or new --out directory.")
        self.staging = self.out_dir.parent / f".{self.out_dir.name}.partial-{os.getpid()}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)

    def path(self, name: str) -> Path:
        return self.staging / name

    def write_graph(self, name: str, model: onnx.ModelProto) -> tuple[str, tuple[str, ...]]:
        """Saves `<name>.onnx` (+ `.onnx.data` when large); returns the file and extra files."""
        file = f"{name}.onnx"
        return file, save_onnx(model, self.path(file))

    def write_json(self, name: str, values: dict) -> str:
        self.path(name).write_text(json.dumps(values, indent=1, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
        return name

    def write_npy(self, name: str, array: np.ndarray) -> str:
        np.save(self.path(name), array, allow_pickle=False)
        return name

    def commit(self, manifest: Manifest) -> Manifest:
        """Hashes every staged file into the manifest, writes it, and moves the bundle into place;
        returns the manifest as written."""
        files = {p.relative_to(self.staging).as_posix(): sha256_file(p)
                 for p in sorted(self.staging.rglob("*")) if p.is_file()}
        final = replace(manifest, files=files)
        missing = sorted(final.referenced_files() - set(files))
        if missing:
            raise ExportError(f"bundle file {missing[0]} was never written; this is an export bug, "
                              "please report it.")
        (self.staging / MANIFEST_NAME).write_text(json.dumps(final.to_dict(), indent=2) + "\n",
                                                  encoding="utf-8")
        self._swap_in()
        return final

    def stage_existing(self, bundle: Bundle, drop: set[str]) -> None:
        """Copies every hashed file of `bundle` except `drop` into the staging folder (hard links
        when the bundle is rewritten in place: its old folder is removed right after)."""
        in_place = bundle.directory.resolve() == self.out_dir
        for name in sorted(bundle.manifest.files):
            if name in drop or name == MANIFEST_NAME:
                continue
            target = self.path(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                if not in_place:
                    raise OSError("copy")
                os.link(bundle.path(name), target)
            except OSError:
                shutil.copy2(bundle.path(name), target)

    def commit_raw(self, values: dict) -> dict:
        """`commit` for a manifest kept as its JSON dict (a tool that rewrites a bundle keeps
        every section it does not know as it was): hashes every staged file into
        ``values["files"]``, writes it, swaps the bundle in; returns what was written."""
        values = dict(values)
        values["files"] = {p.relative_to(self.staging).as_posix(): sha256_file(p)
                           for p in sorted(self.staging.rglob("*")) if p.is_file()}
        (self.staging / MANIFEST_NAME).write_text(json.dumps(values, indent=2) + "\n",
                                                  encoding="utf-8")
        self._swap_in()
        return values

    def _swap_in(self) -> None:
        previous = self.out_dir.parent / f".{self.out_dir.name}.old-{os.getpid()}"
        if self.out_dir.exists():
            os.replace(self.out_dir, previous)
        os.replace(self.staging, self.out_dir)
        shutil.rmtree(previous, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.abort()


def rewrite_bundle(bundle: Bundle, out_dir: Path | None, values: dict,
                   files: dict[str, np.ndarray | dict | None] | None = None) -> None:
    """Writes `bundle` again at `out_dir` (None: in place) with the manifest dict `values`:
    every hashed file is kept except those named in `files`, which are written anew (an array
    as .npy, a dict as JSON) or, for None, left out; then the engine's reader verifies it."""
    files = files or {}
    with BundleWriter(out_dir if out_dir is not None else bundle.directory) as writer:
        writer.stage_existing(bundle, set(files))
        for name, content in files.items():
            if isinstance(content, dict):
                writer.write_json(name, content)
            elif content is not None:
                writer.write_npy(name, np.asarray(content))
        writer.commit_raw(values)
    Bundle.open(writer.out_dir, verify=True)


def bundle_tool_parser(module: str, doc: str, needs: str) -> argparse.ArgumentParser:
    """The command line every tool that rewrites a bundle starts from: ``--bundle`` (`needs`
    says what it must hold) and ``--out`` (default: in place), described by `doc`'s first line."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}",
                                     description=doc.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help=needs)
    parser.add_argument("--out", type=Path, help="write the result here (default: in place)")
    return parser
