""""Play again" with the real engine.Engine: a sampling bundle (tiny_token_bundle) composes a
new variation of the same painting — same comment and feelings, the painting's reading reused,
a new seed, both seeds in kiosk.log —; the paper's deterministic bundle (tiny_bundle) replays
the same audio; a seed pinned in the kiosk config draws the same piece every time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from installation.app import engine_factory
from installation.composer import ComposeRequest, ComposerThread, EngineState
from installation.config import KioskConfig
from installation.kiosk import Kiosk, build_kiosk
from installation.logging_setup import setup_logging
from installation.ui.main_window import NEW_VARIATION, PLAY_AGAIN
from tests.installation.helpers import artwork, hang, wait_until, wall, write_video
from tests.installation.test_end_to_end import FPS, VOLUME, kiosk_config

COMMENT = "a quiet harbour at dawn"


@contextmanager
def kiosk_logging(log_dir: Path) -> Iterator[Path]:
    """kiosk.log written as `main.py run` writes it; the kiosk's handlers removed afterwards."""
    log_path = setup_logging(log_dir)
    assert log_path == log_dir / "kiosk.log"
    try:
        yield log_path
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_art2music_kiosk", False)]:
            root.removeHandler(handler)
            handler.close()


@contextmanager
def running_kiosk(tmp_path: Path, bundle: Path) -> Iterator[tuple[Kiosk, dict]]:
    """A painting held before the camera (a video file) until the kiosk has composed for it;
    yields the running kiosk and what it sent: ``mels``, ``pieces`` and ``describes`` (runs
    of the engine's image graph)."""
    video = write_video(tmp_path / "camera.avi", [hang(wall(), artwork(21))] * 20, FPS)
    config = kiosk_config(tmp_path, str(video), bundle)
    engine = engine_factory(config)()
    seen: dict[str, list] = {"mels": [], "pieces": [], "describes": []}
    describe = engine.describe

    def counted_describe(rgb: np.ndarray):
        seen["describes"].append(1)
        return describe(rgb)

    engine.describe = counted_describe
    kiosk = build_kiosk(config, lambda: engine, record_audio=True, artworks=[artwork(1)])
    kiosk.composer.mel_ready.connect(seen["mels"].append)
    kiosk.composer.piece_ready.connect(seen["pieces"].append)
    kiosk.window.resize(1920, 1080)
    kiosk.window.show()
    kiosk.start()
    try:
        assert wait_until(lambda: kiosk.composer.state == EngineState.READY, timeout=60)
        assert wait_until(lambda: seen["pieces"], timeout=30), "no piece was composed"
        yield kiosk, seen
    finally:
        kiosk.shutdown()
        kiosk.window.close()


def starts_of(recorded: np.ndarray, audio: np.ndarray, block: int) -> list[int]:
    """Every block-aligned position in ``recorded`` where ``audio`` (× VOLUME) starts."""
    probe = audio[:block] * VOLUME
    return [start for start in range(0, recorded.size - block + 1, block)
            if np.allclose(recorded[start:start + block], probe, atol=1e-6)]


def test_a_sampling_bundle_plays_a_new_variation_and_logs_both_seeds(qapp, tmp_path,
                                                                     tiny_token_bundle):
    with kiosk_logging(tmp_path / "logs") as log_path, running_kiosk(tmp_path, tiny_token_bundle) as (
            kiosk, seen):
        window, mixer = kiosk.window, kiosk.player.mixer
        assert window.play_again_button.text() == NEW_VARIATION
        # the visitor picks a second feeling and composes with a comment ...
        window.chips.blockSignals(True)  # no recompose on the tap: Compose sends both at once
        window.chips.buttons()[1].click()
        window.chips.blockSignals(False)
        window.comment.field.setText(COMMENT)
        window.compose_button.click()
        assert wait_until(lambda: len(seen["pieces"]) == 2, timeout=30)
        first = seen["pieces"][1]
        assert first.comment == COMMENT and len(first.feelings) == 2
        # ... then types something else but taps "New variation": the piece's own comment and
        # feelings are composed again, from the painting's reading, with a new seed
        window.comment.field.setText("something else entirely")
        assert wait_until(window.play_again_button.isEnabled, timeout=5)
        window.play_again_button.click()
        assert wait_until(lambda: len(seen["pieces"]) == 3, timeout=30)
        variation = seen["pieces"][2]
        assert wait_until(lambda: getattr(mixer.now_playing, "id", None) == variation.piece_id,
                          timeout=5), "the variation is not what plays"
    mels = {mel.piece_id: mel for mel in seen["mels"]}
    assert variation.painting_id == first.painting_id == 1
    assert variation.piece_id != first.piece_id
    assert (variation.comment, variation.feelings) == (first.comment, first.feelings)
    assert mels[variation.piece_id].prompt == mels[first.piece_id].prompt
    assert len(seen["describes"]) == 1, "the image graph ran again for the variation"
    assert None not in (first.seed, variation.seed) and variation.seed != first.seed
    difference = np.abs(mels[variation.piece_id].log_mel - mels[first.piece_id].log_mel)
    assert float(difference.mean()) > 0.1
    assert not np.allclose(variation.audio, first.audio, atol=1e-3)

    log = log_path.read_text(encoding="utf-8")
    for piece in (first, variation):
        assert f"Painting 1 seed {piece.seed}\n" in log
    assert "New variation of piece" in log
    assert COMMENT not in log and "something else" not in log  # the comment stays off disk


def test_a_deterministic_bundle_replays_the_same_audio(qapp, tmp_path, tiny_bundle):
    with running_kiosk(tmp_path, tiny_bundle) as (kiosk, seen):
        window, mixer = kiosk.window, kiosk.player.mixer
        assert window.play_again_button.text() == PLAY_AGAIN
        piece = seen["pieces"][0]
        assert piece.seed is None
        assert wait_until(lambda: getattr(mixer.now_playing, "id", None) == piece.piece_id
                          and mixer.now_playing.finished, timeout=10)
        window.play_again_button.click()
        replay_id = kiosk.controller.piece_id
        assert replay_id != piece.piece_id
        assert wait_until(lambda: getattr(mixer.now_playing, "id", None) == replay_id
                          and mixer.now_playing.finished, timeout=10)
        assert not wait_until(lambda: len(seen["pieces"]) > 1, timeout=0.5)
        recorded = kiosk.player.output.recorded()
    assert len(seen["describes"]) == 1 and len(seen["mels"]) == 1  # nothing composed again
    block = kiosk.controller.config.audio.block_size
    starts = starts_of(recorded, piece.audio, block)
    assert len(starts) == 2, f"the piece was played at {starts}, not twice"
    fade = mixer._end_fade.size  # each play ends with a short fade
    original, replay = (recorded[start:start + piece.audio.size] for start in starts)
    np.testing.assert_allclose(replay[:-fade], original[:-fade], atol=1e-6)
    np.testing.assert_allclose(replay[:-fade], VOLUME * piece.audio[:-fade], atol=1e-6)


def test_a_seed_pinned_in_the_config_draws_the_same_piece_every_time(qapp, player, caplog,
                                                                     tiny_token_bundle):
    config = KioskConfig(bundle=str(tiny_token_bundle), engine_providers=["cpu"], seed=1234)
    engine = engine_factory(config)()
    composer = ComposerThread(lambda: engine, player, seed=config.seed)
    mels, pieces = [], []
    composer.mel_ready.connect(mels.append)
    composer.piece_ready.connect(pieces.append)
    caplog.set_level(logging.INFO, logger="installation.composer")
    composer.start()
    try:
        composer.submit(ComposeRequest(1, np.ascontiguousarray(artwork(21)[..., ::-1])))
        assert wait_until(lambda: len(pieces) == 1, timeout=30)
        composer.submit(ComposeRequest(1, None))  # the painting again
        assert wait_until(lambda: len(pieces) == 2, timeout=30)
        assert not composer.varies  # so "Play again" replays (the button says so)
    finally:
        composer.stop()
    assert [piece.seed for piece in pieces] == [1234, 1234]
    np.testing.assert_array_equal(mels[1].log_mel, mels[0].log_mel)
    assert caplog.text.count("Painting 1 seed 1234") == 2
    assert re.search(r"Seed 1234 pinned by the kiosk config", caplog.text)


def test_without_a_pinned_seed_every_piece_of_a_sampling_bundle_is_new(qapp, player,
                                                                      tiny_token_bundle):
    """The counterpart of the test above: the same request twice gives two pieces."""
    config = KioskConfig(bundle=str(tiny_token_bundle), engine_providers=["cpu"])
    engine = engine_factory(config)()
    composer = ComposerThread(lambda: engine, player)
    mels, pieces = [], []
    composer.mel_ready.connect(mels.append)
    composer.piece_ready.connect(pieces.append)
    composer.start()
    try:
        composer.submit(ComposeRequest(1, np.ascontiguousarray(artwork(21)[..., ::-1])))
        assert wait_until(lambda: len(pieces) == 1, timeout=30)
        composer.submit(ComposeRequest(1, None))
        assert wait_until(lambda: len(pieces) == 2, timeout=30)
        assert composer.varies
    finally:
        composer.stop()
    assert pieces[0].seed != pieces[1].seed
    assert float(np.abs(mels[1].log_mel - mels[0].log_mel).mean()) > 0.1
