"""End to end with the real engine.Engine on the tiny bundle (tests/export/bundle_fixture.py):
a generated video is the camera → the painting appears → holds still → the engine composes →
the audio callback plays the piece's blocks in order; a second painting crossfades in; the
visitor's taps, comments and leaving; a lost camera and a missing sound card; and `main.py run`
itself on a machine without a display.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PyQt6.QtGui import QImage

from core.audio_config import DEFAULT_AUDIO
from core.prompt import MAX_COMMENT_CHARS
from installation.app import engine_factory
from installation.audio_player import AudioState, NullAudioSink
from installation.composer import EngineState
from installation.config import (
    AudioOutputConfig,
    CameraConfig,
    KioskConfig,
    UiConfig,
    VisionConfig,
    with_overrides,
)
from installation.kiosk import build_kiosk
from tests.installation.helpers import (
    artwork,
    hang,
    visit_frames,
    wait_until,
    wall,
    write_video,
)

REPO = Path(__file__).resolve().parents[2]
FPS = 20.0
VOLUME = 0.05
"""Low enough that the limiter never touches the vocoder output, even after the kiosk's loudness
gain (up to +30 dB): the blocks the callback produced can be compared sample by sample with the
piece's audio."""


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

        # a visitor pastes 10 000 characters of emoji with control characters, then Compose:
        # the real engine composes from the cleaned, shortened text
        prompts = []
        kiosk.composer.mel_ready.connect(lambda mel: prompts.append(mel.prompt))
        window.comment.field.setText("🎨\x00\x1b[2J" * 2_500)
        window.compose_button.click()
        assert wait_until(lambda: len(pieces) == 3, timeout=20)
        assert pieces[2].painting_id == 1 and pieces[2].audio.size == piece.audio.size
        assert "🎨" in prompts[-1] and "\x00" not in prompts[-1] and "\x1b" not in prompts[-1]
        assert prompts[-1].count("🎨") <= MAX_COMMENT_CHARS

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


def test_a_new_painting_crossfades_from_the_playing_piece(qapp, tmp_path, tiny_bundle,
                                                        artifacts_dir):
    """Painting A plays; painting B replaces it while A's piece is still sounding: the callback's
    output is A alone, then cos·A + sin·B over the crossfade, then B alone — sample by sample."""
    frames = visit_frames(FPS, [("wall", 0.5), ("A", 2.0), ("B", 5.0), ("wall", 2.0)],
                          {"A": artwork(21), "B": artwork(22)})
    video = write_video(tmp_path / "visit.avi", frames, FPS)
    config = with_overrides(kiosk_config(tmp_path, str(video), tiny_bundle),
                            audio={"crossfade_seconds": 0.1})
    engine = engine_factory(config)()  # loaded before the camera starts: A is composed at once
    # the silent sink at a tenth of real time: A's 0.4 s piece sounds for 4 s, so it is still
    # playing when B is composed
    kiosk = build_kiosk(config, lambda: engine, record_audio=True, null_speed=0.1,
                        artworks=[artwork(1)])
    window, mixer = kiosk.window, kiosk.player.mixer
    pieces, started = [], []
    kiosk.composer.piece_ready.connect(pieces.append)
    kiosk.controller.painting_started.connect(started.append)
    block = config.audio.block_size
    fade = round(config.audio.crossfade_seconds * DEFAULT_AUDIO.sample_rate)
    window.resize(1920, 1080)
    window.show()
    kiosk.start()
    try:
        assert wait_until(lambda: len(pieces) == 2, timeout=30), f"pieces: {pieces}"
        second = pieces[1]
        assert wait_until(lambda: getattr(mixer.now_playing, "id", None) == second.piece_id
                          and mixer.now_playing.played >= fade + 3 * block, timeout=20)
        assert window.grab().save(str(artifacts_dir / "kiosk_crossfade.png"))
        recorded = kiosk.player.output.recorded()
    finally:
        kiosk.shutdown()
        window.close()
    assert started == [1, 2]  # A held for 2 s triggers once; B is new
    a, b = pieces[0].audio, second.audio
    assert pieces[0].painting_id == 1 and second.painting_id == 2
    a_start = find_piece(recorded, a, block)

    i = np.arange(fade)
    fade_in = np.sin(0.5 * np.pi * i / fade).astype(np.float32)
    fade_out = np.cos(0.5 * np.pi * i / fade).astype(np.float32)

    def expected(k: int) -> np.ndarray:
        """Output from sample ``k`` on if B started there: A falls, B rises, then B alone."""
        a_part = a[k - a_start:k - a_start + fade]
        cross = fade_out[:a_part.size] * a_part
        mixed = fade_in * b[:fade]
        mixed[:cross.size] += cross
        return VOLUME * np.concatenate([mixed, b[fade:fade + 3 * block]])

    b_start = next((k for k in range(a_start + block, recorded.size - fade - 3 * block, block)
                    if np.allclose(recorded[k:k + fade + 3 * block], expected(k), atol=1e-5)),
                   None)
    assert b_start is not None, "no equal-power crossfade from A to B in the output"
    assert b_start - a_start + fade < a.size - block, "A was still playing during the fade"
    # before B: A alone, in order, untouched
    assert np.allclose(recorded[a_start:b_start], VOLUME * a[:b_start - a_start], atol=1e-6)
    assert kiosk.player.mixer.stats.underflows == 0


def test_camera_loss_and_a_missing_sound_card_are_shown_and_retried(qapp, tmp_path,
                                                                    tiny_bundle, artifacts_dir):
    path = tmp_path / "camera.avi"
    frames = [hang(wall(), artwork(4))] * 10
    write_video(path, frames, FPS)
    config = with_overrides(kiosk_config(tmp_path, str(path), tiny_bundle),
                            audio={"device": "no-such-sound-card", "retry_s": 0.3})
    kiosk = build_kiosk(config, engine_factory(config), artworks=[artwork(1)])
    window, status = kiosk.window, kiosk.window.status
    window.resize(1920, 1080)
    window.show()
    kiosk.start()
    try:
        assert wait_until(lambda: status.camera.level == "ok", timeout=10)
        assert wait_until(lambda: status.audio.level == "warn", timeout=10)
        assert status.audio.message.startswith("No sound device (")
        assert "retrying every 0.3 s" in status.audio.message
        assert isinstance(kiosk.player.output, NullAudioSink)  # the music loop keeps going

        path.unlink()  # the camera goes away
        assert wait_until(lambda: status.camera.level == "error", timeout=10)
        assert "does not exist" in status.camera.message
        assert status.message.text() == status.camera.message  # the most urgent one is shown
        assert window.preview.caption() == "The camera is not available right now."
        assert window.grab().save(str(artifacts_dir / "kiosk_camera_lost.png"))
        assert wait_until(lambda: "Retrying in" in status.camera.message, timeout=10)

        write_video(path, frames, FPS)  # and comes back
        assert wait_until(lambda: status.camera.level == "ok", timeout=15)
        assert wait_until(lambda: window.preview.caption() !=
                          "The camera is not available right now.", timeout=10)
        assert kiosk.camera.isRunning()
        assert kiosk.player.state == AudioState.NO_DEVICE  # still looking for the sound card
    finally:
        kiosk.shutdown()
        window.close()


def headless_env(home: Path) -> dict[str, str]:
    """A fresh server: no $DISPLAY, no $WAYLAND_DISPLAY, no QT_QPA_PLATFORM."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    for name in ("LANG", "LC_ALL"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def test_main_py_run_demo_on_a_server_without_display_or_sound_card(tmp_path, tiny_bundle,
                                                                   artifacts_dir):
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text(
        f'log_dir = "{tmp_path / "logs"}"\nengine_providers = ["cpu"]\n'
        '[audio]\ndevice = "none"\n[vision]\nsteady_seconds = 0.5\n', encoding="utf-8")
    shot = artifacts_dir / "kiosk_demo.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "main.py", "run", "--demo", "--config", str(config_file),
         "--bundle", str(tiny_bundle), "--exit-after", "90", "--exit-after-pieces", "1",
         "--screenshot", str(shot)],
        cwd=REPO, capture_output=True, text=True, timeout=150, env=headless_env(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    console = result.stderr
    assert "runs offscreen" in console  # picked by itself: Qt would abort looking for X11
    assert re.search(r"Now playing piece \d+ for painting 1 \(0\.4 s\): .*Painting Emotion",
                     console)
    assert "propagateSizeHints" not in console
    log = (tmp_path / "logs" / "kiosk.log").read_text(encoding="utf-8")
    assert "Music engine ready." in log
    assert "Painting 1 in view" in log
    assert re.search(r"Piece \d+ for painting 1: 0\.4 s of audio", log)
    assert "No sound device (sound output is switched off)." in log
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1920, 1080)  # a 1080p kiosk, not 800x600
    assert shot.stat().st_size > 50_000


def test_main_py_run_without_a_bundle_says_what_to_do_and_keeps_running(tmp_path):
    missing = tmp_path / "no-bundle"
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text(f'log_dir = "{tmp_path / "logs"}"\n[audio]\ndevice = "none"\n',
                           encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "main.py", "run", "--demo", "--bundle", str(missing),
         "--config", str(config_file), "--exit-after", "4"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**headless_env(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"The model bundle {missing} does not exist: pass --bundle DIR" in result.stderr
    assert "main.py export --checkpoint" in result.stderr
    assert "retrying in 30 s" in result.stderr  # the status bar's message, retried
    assert "Kiosk stopped." in result.stderr  # ran until --exit-after, not a crash
