"""The allowed range of every number in the kiosk config, checked when a config is built.

A value that makes no sense (a negative time, a zero block size, a retry with no pause) is refused
with one sentence naming the setting, the rule and what the setting does; a value the kiosk can
safely bring into range (``volume = 5``) is clamped and the clamp is logged, never silent. Every
number in ``installation.config`` must have an entry here (tests/installation/
test_config_ranges.py checks that a newly added setting has one).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

log = logging.getLogger("installation.config")


class RangeError(ValueError):
    """A config number outside its allowed range (config.py turns it into a ConfigError)."""


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    """True: ``low`` itself is refused (the value must be more than ``low``)."""
    clamp_high: bool = False
    """True: a value above ``high`` is brought down to ``high`` with a log line."""
    meaning: str = ""
    """What the setting does, for the message."""

    def rule(self) -> str:
        low = None if self.low is None else f"{self.low:g}"
        if self.low is not None and self.high is not None and not self.low_open:
            return f"between {low} and {self.high:g}"
        parts = []
        if low is not None:
            parts.append(f"more than {low}" if self.low_open else f"{low} or more")
        if self.high is not None:
            parts.append(f"at most {self.high:g}")
        return " and ".join(parts) or "a number"

    def refuses(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return True
        return self.high is not None and value > self.high and not self.clamp_high


def _seconds(low_open: bool = True, meaning: str = "") -> Range:
    return Range(0.0, None, low_open, meaning=meaning)


def _positive(meaning: str, low: float = 0.0, high: float | None = None) -> Range:
    return Range(low, high, low_open=low == 0.0, meaning=meaning)


RANGES: dict[str, Range] = {
    # [camera]
    "camera.width": _positive("the width asked of a live camera, in pixels", 16, 16384),
    "camera.height": _positive("the height asked of a live camera, in pixels", 16, 16384),
    "camera.fps": _positive("the frame rate asked of a live camera", 0.0, 240),
    "camera.image_seconds": _seconds(meaning="how long each picture of a folder stays in view"),
    "camera.retry_initial_s": _seconds(meaning="the first pause before a lost camera is "
                                       "tried again; 0 would retry without a pause"),
    "camera.retry_max_s": _seconds(meaning="the longest pause between camera retries"),
    "camera.preview_fps": _positive("preview frames per second on the screen", 0.0, 240),
    "camera.busy_fps": _positive("frames looked at per second while music is generated", 0.0, 240),
    "camera.preview_max_width": _positive("the width of the on-screen preview, in pixels", 16),
    # [vision]
    "vision.detect_max_width": _positive("the width painting detection runs at, in pixels", 32),
    "vision.min_area_fraction": Range(0.0, 1.0, low_open=True,
                                      meaning="the part of the frame a painting must cover"),
    "vision.crop_size": _positive("the painting crop's longest side, in pixels", 16),
    "vision.steady_seconds": _seconds(meaning="how long the view must stay still before a "
                                      "painting triggers music; 0 or less switches the "
                                      "steadiness check off"),
    "vision.motion_threshold": Range(0.0, 255.0, meaning="grey levels a pixel must change by "
                                     "to count as moving"),
    "vision.motion_fraction": Range(0.0, 1.0, low_open=True,
                                    meaning="the part of the pixels that must change for the "
                                    "view to be moving"),
    "vision.signature_threshold": Range(0.0, 255.0, low_open=True,
                                        meaning="the colour difference above which a painting "
                                        "is new"),
    "vision.empty_detail_threshold": Range(0.0, 255.0, meaning="the fine detail below which a "
                                           "view is an empty wall"),
    "vision.leave_seconds": _seconds(meaning="how long an empty view lasts before the music "
                                     "fades out"),
    # [audio]
    "audio.block_size": _positive("samples per audio callback; 0 would spin the audio thread "
                                  "and play nothing", 16, 65536),
    "audio.buffer_blocks": _positive("ring-buffer blocks per piece", 2, 1 << 20),
    "audio.channels": Range(1, 8, meaning="output channels"),
    "audio.crossfade_seconds": _seconds(False, "the crossfade between two pieces"),
    "audio.fade_out_seconds": _seconds(False, "the fade-out when the visitor leaves"),
    "audio.volume": Range(0.0, 1.0, clamp_high=True, meaning="the output volume, 1 = full"),
    "audio.loudness_target_dbfs": Range(-80.0, 0.0, meaning="the level every piece is brought "
                                        "to, in dBFS, below 0"),
    "audio.limit": Range(0.0, 1.0, low_open=True, clamp_high=True,
                         meaning="the output's peak ceiling, 1 = full scale"),
    "audio.retry_s": _seconds(meaning="how often a missing sound device is looked for again; "
                              "0 would retry without a pause"),
    # [ui]
    "ui.attract_after_seconds": _seconds(meaning="idle time before the attract loop starts"),
    "ui.attract_cycle_seconds": _seconds(meaning="how long each attract-loop artwork shows"),
    "ui.feelings_top_k": _positive("feeling chips shown", 1, 64),
    "ui.recompose_delay_seconds": _seconds(False, "the pause after a chip tap before the music "
                                           "is recomposed"),
    # [watchdog] (config.WatchdogConfig refuses the same range with its own message first)
    "watchdog.freeze_seconds": Range(3.0, 600.0, meaning="how long a silent UI or audio thread "
                                     "counts as frozen"),
    # top level
    "engine_retry_s": _positive("the pause between attempts to load the music engine; each "
                                "load takes seconds, and less than 1 s floods the log", 1.0),
    "seed": Range(0, meaning="copy it from a 'Painting N seed S' line of the "
                  "kiosk log"),
}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_settings(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every number of a config dataclass by its dotted name (``audio.volume``); None-valued
    optional numbers (``seed``) are listed when their annotation is a number type."""
    found: dict[str, Any] = {}
    for item in fields(config):
        value = getattr(config, item.name)
        name = f"{prefix}{item.name}"
        if is_dataclass(value):
            found.update(number_settings(value, f"{name}."))
        elif is_number(value) or (value is None and str(item.type) in ("int | None",
                                                                       "float | None")):
            found[name] = value
    return found


def _check(name: str, value: float) -> float:
    """The value to use: ``value`` itself, or clamped (logged); RangeError when refused."""
    allowed = RANGES.get(name)
    if not math.isfinite(value):
        raise RangeError(f"Setting '{name}' must be a finite number, not {value}.")
    if allowed is None:
        return value
    meaning = f" ({allowed.meaning})" if allowed.meaning else ""
    if allowed.refuses(value):
        raise RangeError(f"Setting '{name}' must be {allowed.rule()}, not {value:g}{meaning}.")
    if allowed.high is not None and value > allowed.high:
        clamped = type(value)(allowed.high)
        log.warning("Setting '%s' = %g is above its largest value %g%s; the kiosk uses %g.",
                    name, value, allowed.high, meaning, clamped)
        return clamped
    return value


def apply_ranges(config: Any) -> dict[str, dict[str, Any]]:
    """Checks every number of a KioskConfig; returns the clamped values by section ("" for top
    level), e.g. ``{"audio": {"volume": 1.0}}``. Raises RangeError for a refused value."""
    changes: dict[str, dict[str, Any]] = {}
    for name, value in number_settings(config).items():
        if value is None:
            continue
        used = _check(name, value)
        if used != value:
            section, _, key = name.rpartition(".")
            changes.setdefault(section, {})[key] = used
    camera = getattr(config, "camera", None)
    if camera is not None and camera.retry_max_s < camera.retry_initial_s:
        raise RangeError(f"Setting 'camera.retry_max_s' ({camera.retry_max_s:g}) must be at least "
                         f"camera.retry_initial_s ({camera.retry_initial_s:g}).")
    return changes


def with_changes(config: Any, changes: dict[str, dict[str, Any]]) -> None:
    """Writes `apply_ranges`' clamped values into a frozen config (from its __post_init__)."""
    for section, values in changes.items():
        if section:
            object.__setattr__(config, section, replace(getattr(config, section), **values))
        else:
            for key, value in values.items():
                object.__setattr__(config, key, value)
