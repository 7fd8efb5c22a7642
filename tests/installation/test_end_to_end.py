"""End to end with the real engine.Engine on the tiny bundle (tests/export/bundle_fixture.py):
a generated video is the camera → the painting appears → holds still → the engine composes →
the audio callback plays the piece's blocks in order; then the visitor's taps and leaving.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from installation.app import engine_factory
from installation.composer import EngineState
from installation.config import (
    AudioOutputConfig,
    CameraConfig,
    KioskConfig,
    UiConfig,
    VisionConfig,
)
from installation.kiosk import build_kiosk
from tests.installation.helpers import artwork, visit_frames, wait_until, write_video

REPO = Path(__file__).resolve().parents[2]
FPS = 20.0
VOLUME = 0.25
"""Low enough that the limiter never touches the (tanh-bounded) vocoder output: the blocks the
callback produced can be compared sample by sample with the engine's audio."""


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    from tests.export.bundle_fixture import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("tiny-bundle"))


def kiosk_config(tmp_path: Path, source: str, bundle: Path) -> KioskConfig:
    return KioskConfig(
        camera=CameraConfig(source=source, retry_initial_s=0.1, preview_fps=10),
        vision=VisionConfig(steady_seconds=0.5, leave_seconds=1.0, detect_max_width=320),
        audio=AudioOutputConfig(device="none", volume=VOLUME, crossfade_seconds=0.05,
                                fade_out_seconds=0.1),
        ui=UiConfig(fullscreen=False, recompose_delay_seconds=0.1),
        bundle=str(bundle), log_dir=str(tmp_path / "logs"), engine_providers=["cpu"])


def find_piece(recorded: np.ndarray, audio: np.ndarray, block: int) -> int:
    """The block-aligned position in ``recorded`` where ``audio`` (× VOLUME) starts."""
    probe = audio[:block] * VOLUME
    for start in range(0, recorded.size - block + 1, block):
        if np.allclose(recorded[start:start + block], probe, atol=1e-6):
            return start
    raise AssertionError("the piece's first block was never played")


def test_camera_video_to_ordered_audio_blocks(qapp, tmp_path, tiny_bundle):
    frames = visit_frames(FPS, [("wall", 0.5), ("A", 3.0), ("wall", 2.5)], {"A": artwork(21)})
    video = write_video(tmp_path / "visit.avi", frames, FPS)
    config = kiosk_config(tmp_path, str(video), tiny_bundle)
    kiosk = build_kiosk(config, engine_factory(config), record_audio=True,
                        artworks=[artwork(1)])
    controller, window = kiosk.controller, kiosk.window
    pieces, started = [], []
    kiosk.composer.piece_ready.connect(pieces.append)
    controller.painting_started.connect(started.append)
    window.resize(1920, 1080)
    window.show()
    kiosk.start()
    try:
        assert wait_until(lambda: kiosk.composer.state == EngineState.READY, timeout=60)
        assert wait_until(lambda: pieces, timeout=20), "no piece was composed"
        assert started == [1]
        piece = pieces[0]
        assert piece.audio.size == kiosk.composer.engine.audio.clip_samples
        assert window.chips.feelings(), "feelings chips appear for the painting"
        assert window.mel_view.caption != "Music will appear here"
        mixer = kiosk.player.mixer
        assert wait_until(lambda: getattr(mixer.now_playing, "id", None) == piece.piece_id,
                          timeout=5)
        first = mixer.now_playing
        assert wait_until(lambda: first.finished, timeout=5)  # played to its end

        # the visitor taps a second feeling: the same painting is recomposed
        window.chips.buttons()[1].click()
        assert wait_until(lambda: len(pieces) == 2, timeout=20)
        assert pieces[1].painting_id == 1 and pieces[1].piece_id != piece.piece_id

        # "Play again" replays the last piece as a new one
        window.play_again_button.click()
        replay_id = controller.piece_id
        assert replay_id not in (p.piece_id for p in pieces)

        # the painting is taken away: the view is empty for leave_seconds → fade out
        assert wait_until(lambda: not window.chips.feelings(), timeout=10)
        assert wait_until(lambda: kiosk.player.mixer.now_playing.finished, timeout=5)
        sink = kiosk.player.output
        recorded = sink.recorded()
    finally:
        kiosk.shutdown()
        window.close()

    # the callback's own output holds the first piece, block by block, in order
    block = config.audio.block_size
    start = find_piece(recorded, piece.audio, block)
    assert start % block == 0
    played = recorded[start:start + piece.audio.size]
    fade = kiosk.player.mixer._end_fade.size  # the last block ends with a short fade
    assert played.size == piece.audio.size
    assert np.allclose(played[:-fade], VOLUME * piece.audio[:-fade], atol=1e-6)


def test_main_py_run_demo_without_camera_or_sound_card(tmp_path, tiny_bundle):
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text(
        f'log_dir = "{tmp_path / "logs"}"\nengine_providers = ["cpu"]\n'
        '[audio]\ndevice = "none"\n[vision]\nsteady_seconds = 0.5\n', encoding="utf-8")
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [sys.executable, "main.py", "run", "--demo", "--windowed", "--config", str(config_file),
         "--bundle", str(tiny_bundle), "--exit-after", "7", "--screenshot", str(shot)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    log = (tmp_path / "logs" / "kiosk.log").read_text(encoding="utf-8")
    assert "Music engine ready." in log
    assert "Painting 1 in view" in log
    assert re.search(r"Piece \d+ for painting 1: 0\.4 s of audio", log)
    assert "No sound device (sound output is switched off)." in log
    assert shot.stat().st_size > 50_000
