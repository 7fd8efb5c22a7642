"""Every number in the kiosk config has a range: nonsense is refused in one sentence that names
the setting, a value the kiosk can bring into range is clamped with a log line, and both reach
kiosk.log, not only the console (issue 10, "every bad input answered")."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from installation.app import main as app_main
from installation.config import REPO_ROOT, ConfigError, KioskConfig, load_config
from installation.config_ranges import RANGES, number_settings


def _toml(name: str, value: object) -> str:
    section, _, key = name.rpartition(".")
    text = f"{key} = {value}\n"
    return f"[{section}]\n{text}" if section else text


def _load(tmp_path, text: str) -> KioskConfig:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_every_number_in_the_config_has_a_range():
    """A setting added later without a range would go unchecked: add it to RANGES."""
    numbers = number_settings(KioskConfig())
    assert "seed" in numbers and "audio.block_size" in numbers
    assert sorted(set(numbers) - set(RANGES)) == []
    assert sorted(set(RANGES) - set(numbers)) == []  # no stale entries


@pytest.mark.parametrize("name", sorted(number_settings(KioskConfig())))
def test_a_huge_negative_number_is_refused_for_every_setting(tmp_path, name):
    with pytest.raises(ConfigError, match=rf"Setting '{name}' must be .*not -1(e\+09|000000000)") as info:
        _load(tmp_path, _toml(name, -1_000_000_000))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", sorted(n for n, r in RANGES.items() if r.low_open))
def test_zero_is_refused_where_it_makes_no_sense(tmp_path, name):
    assert RANGES[name].low == 0
    with pytest.raises(ConfigError, match=rf"'{name}' must be more than 0(?: and at most [0-9]+)?, not 0 \("):
        _load(tmp_path, _toml(name, 0))


@pytest.mark.parametrize("text,message", [
    # the three harmful ones of issue 10
    ("[vision]\nsteady_seconds = -1\n",
     r"'vision.steady_seconds' must be more than 0, not -1 \(.*switches the steadiness check off\)\.$"),
    ("[audio]\nblock_size = 0\n",
     r"'audio.block_size' must be between 16 and 65536, not 0 \(samples per audio callback"),
    ("engine_retry_s = -5\n", r"'engine_retry_s' must be 1 or more, not -5 \(the pause[^()]*\)\.$"),
    ("engine_retry_s = 0.01\n", r"'engine_retry_s' must be 1 or more, not 0.01"),
    ("[camera]\nretry_initial_s = 0\n", r"'camera.retry_initial_s' must be more than 0"),
    ("[camera]\nretry_initial_s = 20.0\nretry_max_s = 10.0\n",
     r"'camera.retry_max_s' \(10\) must be at least camera.retry_initial_s \(20\)"),
    ("[audio]\nvolume = -0.5\n", r"'audio.volume' must be between 0 and 1, not -0.5"),
    ("[audio]\nloudness_target_dbfs = 6\n",
     r"'audio.loudness_target_dbfs' must be between -80 and 0, not 6"),
    ("[audio]\nbuffer_blocks = 1\n", r"'audio.buffer_blocks' must be between 2 and"),
    ("[vision]\nmotion_fraction = 1.5\n", r"'vision.motion_fraction' must be more than 0 and "
     r"at most 1, not 1.5"),
    ("[vision]\nmotion_threshold = 300\n", r"'vision.motion_threshold' must be between 0 and 255"),
    ("[ui]\nfeelings_top_k = 0\n", r"'ui.feelings_top_k' must be between 1 and 64, not 0"),
    ("[camera]\nfps = nan\n", r"'camera.fps' must be a finite number, not nan"),
    ("[audio]\nfade_out_seconds = inf\n", r"'audio.fade_out_seconds' must be a finite number"),
    ("[audio]\nchannels = inf\n", r"'audio.channels' must be a whole number"),
])
def test_harmful_values_are_refused_with_what_the_setting_does(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        _load(tmp_path, text)
    assert "\n" not in str(info.value)


def test_zero_stays_allowed_where_it_means_something(tmp_path):
    config = _load(tmp_path, "seed = 0\n[audio]\ncrossfade_seconds = 0\nfade_out_seconds = 0\n"
                   "volume = 0\n[ui]\nrecompose_delay_seconds = 0\n[vision]\n"
                   "motion_threshold = 0\nempty_detail_threshold = 0\n")
    assert config.seed == 0
    assert config.audio.crossfade_seconds == 0.0 and config.audio.volume == 0.0
    assert config.ui.recompose_delay_seconds == 0.0 and config.vision.motion_threshold == 0.0


def test_a_loud_volume_is_clamped_and_the_clamp_is_logged(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="installation.config"):
        config = _load(tmp_path, "[audio]\nvolume = 5\nlimit = 3\n")
    assert config.audio.volume == 1.0 and config.audio.limit == 1.0
    lines = [r.getMessage() for r in caplog.records if r.name == "installation.config"]
    assert len(lines) == 2
    assert "'audio.volume' = 5 is above its largest value 1" in lines[0]
    assert "the kiosk uses 1" in lines[0]
    assert "'audio.limit' = 3" in lines[1]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="installation.config"):
        assert _load(tmp_path, "[audio]\nvolume = 1\n").audio.volume == 1.0
    assert caplog.records == []  # nothing to say about a value in range


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


def test_a_refused_config_reaches_kiosk_log_and_the_console(tmp_path, restore_logging, capsys):
    logs = tmp_path / "logs"
    path = tmp_path / "gallery.toml"
    path.write_text(f'log_dir = "{logs}"\n[audio]\nvolume = 5\n[ui]\nfeelings_top_k = 0\n',
                    encoding="utf-8")
    assert app_main(["--config", str(path)]) == 2
    text = (logs / "kiosk.log").read_text(encoding="utf-8")
    assert "The kiosk cannot start: Setting 'ui.feelings_top_k' must be between 1" in text
    assert "'audio.volume' = 5 is above its largest value" in text  # held, then written
    assert "'ui.feelings_top_k' must be between 1" in capsys.readouterr().err


def test_a_clamped_value_in_a_running_kiosk_reaches_kiosk_log(tmp_path):
    """The real kiosk as a process: it starts with the clamped volume and says so in its log."""
    logs = tmp_path / "logs"
    path = tmp_path / "gallery.toml"
    path.write_text(f'log_dir = "{logs}"\nbundle = "{tmp_path / "no-bundle"}"\n'
                    f'[camera]\nsource = "{tmp_path / "no-pictures"}"\n'
                    '[audio]\ndevice = "none"\nvolume = 5\n', encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "installation", "--config", str(path),
                             "--windowed", "--exit-after", "0.2"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    text = (logs / "kiosk.log").read_text(encoding="utf-8")
    assert "'audio.volume' = 5 is above its largest value 1" in text
    assert text.index("'audio.volume' = 5") < text.index("Kiosk stopped.")
