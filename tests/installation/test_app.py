"""`main.py run` itself: headless platform choice and the missing-bundle message."""

import pytest

from installation.app import HEADLESS_PLATFORM, bundle_problem, choose_qt_platform
from installation.config import KioskConfig


@pytest.mark.parametrize("environ,chosen", [
    ({}, HEADLESS_PLATFORM),  # a fresh server: Qt would abort looking for X11
    ({"DISPLAY": ""}, HEADLESS_PLATFORM),
    ({"DISPLAY": ":0"}, None),
    ({"WAYLAND_DISPLAY": "wayland-0"}, None),
    ({"QT_QPA_PLATFORM": "xcb"}, None),  # an explicit choice always wins
])
def test_offscreen_is_chosen_only_without_a_display(monkeypatch, environ, chosen):
    monkeypatch.setattr("sys.platform", "linux")
    environ = dict(environ)
    before = environ.get("QT_QPA_PLATFORM")
    assert choose_qt_platform(environ) == chosen
    assert environ.get("QT_QPA_PLATFORM") == (chosen or before)


def test_a_missing_bundle_is_one_actionable_sentence(tmp_path):
    missing = KioskConfig(bundle=str(tmp_path / "bundle"))
    message = bundle_problem(missing)
    assert message.startswith(f"The model bundle {tmp_path / 'bundle'} does not exist: ")
    assert "--bundle DIR" in message and "main.py export" in message
    (tmp_path / "bundle").mkdir()
    assert "has no manifest.json" in bundle_problem(missing)
    (tmp_path / "bundle" / "manifest.json").write_text("{}")
    assert bundle_problem(missing) is None


def test_relative_bundle_paths_are_shown_from_the_repository():
    message = bundle_problem(KioskConfig(bundle="assets/no-such-bundle"))
    assert message.startswith("The model bundle assets/no-such-bundle does not exist")
