"""Session fixtures of the engine tests: the tiny run and its bundle (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.bundle_fixture import build_tiny_bundle, tiny_run


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("tiny-bundle"))


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("tiny-run"))
