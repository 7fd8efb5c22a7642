"""Kiosk config (TOML), command-line overrides and the rotating log."""

import argparse
import logging
from pathlib import Path

import pytest

from installation.app import add_arguments, config_from_args
from installation.config import REPO_ROOT, ConfigError, KioskConfig, load_config
from installation.logging_setup import setup_logging

EXAMPLE = REPO_ROOT / "assets" / "ui" / "kiosk.example.toml"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_the_example_file_states_the_defaults():
    assert load_config(EXAMPLE) == KioskConfig()


def test_no_file_gives_the_defaults():
    config = load_config(None)
    assert config.camera.source == "0" and config.bundle == "assets/bundle"
    assert config.resolve(config.bundle) == REPO_ROOT / "assets" / "bundle"
    assert config.resolve("/abs/path") == Path("/abs/path")


def test_settings_are_read_and_typed(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('bundle = "/opt/bundle"\n[vision]\nsteady_seconds = 2\n'
                    '[audio]\ndevice = "none"\n[ui]\nfullscreen = false\n', encoding="utf-8")
    config = load_config(path)
    assert config.vision.steady_seconds == 2.0 and isinstance(config.vision.steady_seconds, float)
    assert config.audio.device == "none" and config.ui.fullscreen is False
    assert config.bundle == "/opt/bundle"


@pytest.mark.parametrize("text,message", [
    ("[vision]\nsteady_secs = 1\n", "Unknown setting 'vision.steady_secs'"),
    ("[ui]\nfullscreen = 1\n", "'ui.fullscreen' must be true or false"),
    ("[audio]\nvolume = \"loud\"\n", "'audio.volume' must be a number"),
    ("[audio]\nvolume = true\n", "'audio.volume' must be a number"),  # not 1.0
    ("[audio]\nblock_size = false\n", "'audio.block_size' must be a number"),  # not 0
    ("engine_retry_s = true\n", "'engine_retry_s' must be a number"),
    ("[audio]\nblock_size = 1024.5\n", "'audio.block_size' must be a whole number"),
    ("camera = 3\n", "'camera' must be a [section] table"),
    ("[camera\n", "is not valid TOML"),
    ("seed = 12.5\n", "'seed' must be a whole number"),
    ("seed = \"lucky\"\n", "'seed' must be a number"),
    ("seed = -3\n", "'seed' must be 0 or more"),
    ("engine_vocoder = \"fast\"\n", "'engine_vocoder' must be one of auto, full, light"),
])
def test_bad_files_are_refused_in_one_sentence(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(path)


def test_a_seed_can_be_pinned_and_is_unset_by_default(tmp_path):
    assert KioskConfig().seed is None
    path = tmp_path / "k.toml"
    path.write_text("seed = 1234\n", encoding="utf-8")
    assert load_config(path).seed == 1234


def test_the_vocoder_choice_is_the_engines_and_auto_by_default(tmp_path):
    from engine.engine import VOCODER_CHOICES
    from installation.config import VOCODER_CHOICES as CONFIG_CHOICES

    assert CONFIG_CHOICES == VOCODER_CHOICES and KioskConfig().engine_vocoder == "auto"
    path = tmp_path / "k.toml"
    path.write_text('engine_vocoder = "full"\n', encoding="utf-8")
    assert load_config(path).engine_vocoder == "full"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_command_line_overrides():
    assert config_from_args(parse("--demo")).camera.source == "demo"
    assert config_from_args(parse("--demo", "--video", "v.mp4")).camera.source == "v.mp4"
    assert config_from_args(parse("--images", "pics")).camera.source == "pics"
    assert config_from_args(parse("--camera", "2")).camera.source == "2"
    config = config_from_args(parse("--bundle", "b", "--windowed", "--config", str(EXAMPLE)))
    assert config.bundle == "b" and config.ui.fullscreen is False
    args = parse("--exit-after", "2.5", "--screenshot", "s.png")
    assert args.exit_after == 2.5 and args.screenshot == Path("s.png")
    with pytest.raises(SystemExit):
        parse("--video", "a.mp4", "--images", "dir")


def test_rotating_log_file(tmp_path):
    path = setup_logging(tmp_path / "logs", max_bytes=400, backups=2)
    try:
        for index in range(30):
            logging.getLogger("kiosk.test").info("line %d of the kiosk log", index)
        files = sorted(p.name for p in (tmp_path / "logs").iterdir())
        assert files == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
        assert "line 29" in path.read_text(encoding="utf-8")
        setup_logging(tmp_path / "logs")  # again: no duplicated handlers
        tagged = [h for h in logging.getLogger().handlers if getattr(h, "_art2music_kiosk", 0)]
        assert len(tagged) == 2
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_art2music_kiosk", False)]:
            root.removeHandler(handler)
            handler.close()
