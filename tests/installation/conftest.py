"""Kiosk tests run real Qt widgets offscreen (no display needed)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def qapp():
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["kiosk-tests"])
    yield app


@pytest.fixture
def player():
    """An audio player on the silent stand-in output that records every block it plays."""
    import math

    from installation.audio_player import AudioPlayer
    from installation.config import AudioOutputConfig

    config = AudioOutputConfig(device="none", crossfade_seconds=0.0, volume=1.0, limit=1.0)
    player = AudioPlayer(config, 22050, null_speed=math.inf, record=True)
    yield player
    player.close()
