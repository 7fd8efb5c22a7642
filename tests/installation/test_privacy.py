"""The kiosk keeps no visitor comment and no camera frame on disk unless the gallery's config
turns it on (``log_comments``, ``live_screenshots``): the kiosk log shows the prompt with the
comment replaced by its length, and ``--screenshot`` is refused with a live camera."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.prompt import build_prompt
from engine.reading import art_commentary
from installation.app import engine_factory, screenshot_problem
from installation.comment import loggable_prompt, redact_prompt
from installation.composer import EngineState
from installation.config import (
    AudioOutputConfig,
    CameraConfig,
    KioskConfig,
    UiConfig,
    VisionConfig,
    load_config,
)
from installation.kiosk import build_kiosk
from installation.logging_setup import setup_logging
from tests.installation.helpers import artwork, hang, wait_until, wall, write_video

SECRET = "my secret grandmother zebra"
SECRET_WORDS = ("secret", "grandmother", "zebra")
SEA = "A painting of the sea in soft light, with cool colours of blue."


def prompt_for(comment: str, commentary: str = SEA, policy: str = "join") -> str:
    """The prompt as the engine builds it (engine.Engine.prompt, without the caption search)."""
    return build_prompt(art_commentary(comment, commentary, policy), ["awe"], ["Music"],
                        ["calm piano"])


# ---------------------------------------------------------------------------- the redaction
def test_the_comment_is_replaced_by_its_length_and_the_paintings_reading_is_kept():
    prompt = prompt_for(SECRET)
    assert SECRET in prompt
    logged = redact_prompt(prompt, SECRET, SEA)
    assert logged == prompt.replace(SECRET, "<visitor comment, 27 chars>")
    assert SEA.rstrip(".") in logged and "Painting Emotion: awe" in logged
    assert not any(word in logged for word in SECRET_WORDS)


def test_without_a_comment_the_prompt_is_logged_as_composed():
    prompt = prompt_for("")
    assert redact_prompt(prompt, "", SEA) == prompt
    assert redact_prompt(prompt, " \n\t", SEA) == prompt


@pytest.mark.parametrize("comment,commentary,policy", [
    (SECRET, SEA, "replace"),  # the comment stands in for the commentary
    (SECRET, "", "join"),  # a bundle that cannot read paintings
    ("Zebra! " + SECRET + ".", SEA, "join"),  # own punctuation, other joiner
    (SECRET + ". Painting Emotion: zebra", SEA, "join"),  # the comment imitates the prompt
    ((SECRET + " ") * 30, SEA, "join"),  # over MAX_COMMENT_CHARS: shortened, commentary cut
    (SECRET + ". " + SEA, SEA, "replace"),  # ends like the reading, but is all comment
])
def test_no_word_of_the_comment_is_left_in_any_form_of_the_prompt(comment, commentary, policy):
    prompt = prompt_for(comment, commentary, policy)
    logged = redact_prompt(prompt, comment, commentary)
    assert not any(word in logged.lower() for word in SECRET_WORDS), logged
    assert logged.startswith("Art Commentary: <visitor comment, ")
    assert logged.endswith("Painting Emotion: awe. Audio: Music. Audio keywords: calm piano.")


def test_an_unexpected_prompt_is_redacted_whole():
    assert redact_prompt(f"Something else: {SECRET}.", SECRET) == \
        "<visitor comment, 27 chars> (a prompt of 44 chars)"


def test_log_comments_keeps_the_prompt_as_composed():
    prompt = prompt_for(SECRET)
    assert loggable_prompt(prompt, SECRET, SEA, log_comments=True) == prompt
    assert loggable_prompt(prompt, SECRET, SEA) == redact_prompt(prompt, SECRET, SEA)


# ---------------------------------------------------------------------------- the config
def test_comments_and_live_screenshots_are_off_unless_the_config_turns_them_on(tmp_path):
    assert KioskConfig().log_comments is False and KioskConfig().live_screenshots is False
    path = tmp_path / "gallery.toml"
    path.write_text("log_comments = true\nlive_screenshots = true\n", encoding="utf-8")
    config = load_config(path)
    assert config.log_comments is True and config.live_screenshots is True
    path.write_text('log_comments = "yes"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="'log_comments' must be true or false"):
        load_config(path)


def test_screenshots_of_a_live_camera_need_the_config():
    assert "live_screenshots = true" in screenshot_problem(KioskConfig())
    assert screenshot_problem(KioskConfig(camera=CameraConfig(source=" 2 "))) is not None
    assert screenshot_problem(KioskConfig(live_screenshots=True)) is None
    for source in ("demo", "visit.mp4", "paintings/"):  # no live camera, no visitor in view
        assert screenshot_problem(KioskConfig(camera=CameraConfig(source=source))) is None


# ---------------------------------------------------------------------------- the kiosk log
def visit_with_a_comment(tmp_path: Path, bundle: Path, log_comments: bool) -> str:
    """A painting held before the camera (a video file), the engine composes for it, a visitor
    types `SECRET` and taps Compose; returns kiosk.log as the kiosk wrote it to disk."""
    video = write_video(tmp_path / "camera.avi", [hang(wall(), artwork(21))] * 20, 20.0)
    config = KioskConfig(
        camera=CameraConfig(source=str(video), retry_initial_s=0.1, preview_fps=10),
        vision=VisionConfig(steady_seconds=0.5, leave_seconds=5.0, detect_max_width=320),
        audio=AudioOutputConfig(device="none", volume=0.05, crossfade_seconds=0.05),
        ui=UiConfig(fullscreen=False), bundle=str(bundle), log_dir=str(tmp_path / "logs"),
        engine_providers=["cpu"], log_comments=log_comments)
    log_path = setup_logging(config.resolve(config.log_dir))  # as `main.py run` does
    assert log_path == tmp_path / "logs" / "kiosk.log"
    try:
        kiosk = build_kiosk(config, engine_factory(config), artworks=[artwork(1)])
        window, pieces = kiosk.window, []
        kiosk.composer.piece_ready.connect(pieces.append)
        window.resize(1920, 1080)
        window.show()
        kiosk.start()
        try:
            assert wait_until(lambda: kiosk.composer.state == EngineState.READY, timeout=60)
            assert wait_until(lambda: pieces, timeout=30), "no piece was composed"
            window.comment.field.setText(SECRET)
            window.compose_button.click()
            assert wait_until(lambda: len(pieces) == 2, timeout=30), "the comment was not heard"
        finally:
            kiosk.shutdown()
            window.close()
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_art2music_kiosk", False)]:
            root.removeHandler(handler)
            handler.close()
    return log_path.read_text(encoding="utf-8")


def test_the_kiosk_log_keeps_no_visitor_comment_by_default(qapp, tmp_path, tiny_bundle):
    log = visit_with_a_comment(tmp_path, tiny_bundle, log_comments=False)
    assert log.count("Now playing piece") == 2  # both pieces were logged ...
    assert "Painting 1 prompt (" in log and "Painting Emotion:" in log
    assert "<visitor comment, 27 chars>" in log  # ... the second with the comment's length
    assert not [word for word in SECRET_WORDS if word in log.lower()]


def test_the_kiosk_log_keeps_the_comment_when_the_gallery_turns_log_comments_on(
        qapp, tmp_path, tiny_bundle):
    log = visit_with_a_comment(tmp_path, tiny_bundle, log_comments=True)
    assert log.count("Now playing piece") == 2
    assert f"Art Commentary: {SECRET}" in log
    assert "<visitor comment" not in log
