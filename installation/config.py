"""Kiosk settings: one dataclass per part, read from a TOML file (see assets/ui/kiosk.example.toml).

Every field has a default, so an empty or missing file gives a working kiosk. Unknown keys are
rejected with a one-sentence error, so a typo in a gallery's config does not pass silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from installation.config_ranges import RangeError, apply_ranges, with_changes

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Relative paths in the config are resolved against the repository root."""


class ConfigError(ValueError):
    """The kiosk config file cannot be used as written."""


KEYBOARD_LAYOUTS = ("qwerty", "azerty", "qwertz")
"""Layouts of the on-screen keyboard (installation/ui/touch_keyboard.py)."""


@dataclass(frozen=True)
class CameraConfig:
    source: str = "0"
    """Device index ("0"), a video file (looped) or a folder of images (slideshow)."""
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    """Frame rate asked of a live camera; video files play at their own rate."""
    image_seconds: float = 6.0
    """How long each picture of an image folder stays in view."""
    retry_initial_s: float = 0.5
    retry_max_s: float = 10.0
    preview_fps: float = 20.0
    """At most this many preview frames per second go to the screen."""
    preview_max_width: int = 960
    busy_fps: float = 5.0
    """While music is being generated, frames are looked at (painting detection and preview)
    at most this often, leaving the CPU to the vocoder on a 2-core PC."""


@dataclass(frozen=True)
class VisionConfig:
    detect_max_width: int = 480
    """Painting detection runs on a copy of the frame at most this wide."""
    min_area_fraction: float = 0.08
    """A quadrilateral must cover at least this part of the frame to count as a painting."""
    crop_size: int = 448
    """Longest side of the fronto-parallel painting crop handed to the engine."""
    steady_seconds: float = 1.2
    """The view must stay still this long before a painting triggers music."""
    motion_threshold: float = 10.0
    """A pixel of the 64x48 grey copy has changed when it differs by more grey levels than this."""
    motion_fraction: float = 0.01
    """The view is moving when more than this fraction of the pixels changed since last frame."""
    signature_threshold: float = 18.0
    """Mean absolute colour difference of 16x16 crop thumbnails above which a painting is new."""
    empty_detail_threshold: float = 3.0
    """Without an outline, a view with less fine detail than this is an empty wall."""
    leave_seconds: float = 4.0
    """An empty view for this long means the visitor has left: the music fades out."""


@dataclass(frozen=True)
class AudioOutputConfig:
    device: str = ""
    """Sound device name or index; empty = the system default; "none" = no sound (silent
    stand-in output, for CI)."""
    block_size: int = 1024
    """Samples per ring-buffer block and per audio callback."""
    buffer_blocks: int = 256
    """Ring-buffer capacity per piece (256 x 1024 samples ~ 11.9 s at 22 050 Hz)."""
    channels: int = 1
    crossfade_seconds: float = 2.0
    fade_out_seconds: float = 3.0
    volume: float = 0.8
    loudness_target_dbfs: float = -20.0
    """Every piece is brought to this RMS level (estimated from its Mel) before the volume."""
    normalise_loudness: bool = True
    limit: float = 0.89
    """Peak ceiling of the output (about -1 dBFS)."""
    retry_s: float = 5.0
    """How often a missing sound device is looked for again."""


@dataclass(frozen=True)
class UiConfig:
    fullscreen: bool = True
    attract_after_seconds: float = 30.0
    """No painting and no touch for this long starts the attract loop."""
    attract_cycle_seconds: float = 6.0
    feelings_top_k: int = 5
    recompose_delay_seconds: float = 1.5
    """After a chip is tapped the music is recomposed when no other tap follows this soon."""
    keyboard_layout: str = "qwerty"
    """On-screen keyboard for the comment field: "qwerty", "azerty" or "qwertz"."""

    def __post_init__(self) -> None:
        if self.keyboard_layout not in KEYBOARD_LAYOUTS:
            raise ConfigError(f"Setting 'ui.keyboard_layout' must be one of "
                              f"{', '.join(KEYBOARD_LAYOUTS)}, not '{self.keyboard_layout}'.")


WATCHDOG_FREEZE_RANGE = (3.0, 600.0)
"""Allowed ``watchdog.freeze_seconds``: shorter would restart the kiosk at a passing hiccup."""


@dataclass(frozen=True)
class WatchdogConfig:
    enabled: bool = True
    freeze_seconds: float = 20.0
    """A UI or audio thread silent this long is frozen: its stack goes to the log and the kiosk
    exits (status 70) so that its service restarts it (installation/watchdog.py)."""

    def __post_init__(self) -> None:
        low, high = WATCHDOG_FREEZE_RANGE
        if not low <= self.freeze_seconds <= high:
            raise ConfigError(f"Setting 'watchdog.freeze_seconds' must be between {low:g} and "
                              f"{high:g} seconds, not {self.freeze_seconds:g}.")


VOCODER_CHOICES = ("auto", "full", "light")
"""engine.engine.VOCODER_CHOICES, kept here so that reading a config needs no engine."""


@dataclass(frozen=True)
class KioskConfig:
    camera: CameraConfig = field(default_factory=CameraConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    audio: AudioOutputConfig = field(default_factory=AudioOutputConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    bundle: str = "assets/bundle"
    artworks: str = "assets/artworks"
    log_dir: str = "runs/kiosk-logs"
    log_comments: bool = False
    """Write visitors' comments into the log (the prompt as composed). Off: the log shows the
    prompt with the comment replaced by "<visitor comment, N chars>" (installation/comment.py)."""
    live_screenshots: bool = False
    """Let ``--screenshot`` save the screen while a live camera (a device index) is the source;
    the picture holds the camera view and any visitor's comment. Off: it is refused then."""
    engine_providers: list[str] = field(default_factory=list)
    """ONNX Runtime providers in order of preference; empty = the engine's default."""
    engine_vocoder: str = "auto"
    """Which of the bundle's vocoders plays (engine.engine.VOCODER_CHOICES): ``auto`` the light one
    when the full one would run on the CPU, ``full``, or ``light``."""
    engine_retry_s: float = 30.0
    seed: int | None = None
    """Draw every piece with this sampling seed (one from the log's "Painting N seed S"), so a
    piece can be heard again; None = a new seed per piece, and "Play again" gives a new
    variation. Only a sampling (``tokens``) bundle uses it."""

    def __post_init__(self) -> None:
        if self.engine_vocoder not in VOCODER_CHOICES:
            raise ConfigError(f"Setting 'engine_vocoder' must be one of "
                              f"{', '.join(VOCODER_CHOICES)}, not {self.engine_vocoder!r}.")
        if self.seed is not None and self.seed < 0:
            raise ConfigError(f"Setting 'seed' must be 0 or more, not {self.seed}; copy it "
                              "from a 'Painting N seed S' line of the kiosk log.")
        try:  # every number in its range (installation/config_ranges.py); clamps are logged
            with_changes(self, apply_ranges(self))
        except RangeError as error:
            raise ConfigError(str(error)) from None

    def resolve(self, path: str) -> Path:
        """A config path as an absolute path (relative ones are taken from the repo root)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else REPO_ROOT / candidate

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"Unknown setting '{where}{key}' in the kiosk config; "
                              f"remove it or check the spelling against kiosk.example.toml.")
        default = getattr(cls(), key)
        if default is None:  # an optional setting: checked as a value of its type
            default = _OPTIONAL[known[key].type]
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"Setting '{where}{key}' must be a [section] table.")
            kwargs[key] = _build(type(default), value, f"{where}{key}.")
        else:
            kwargs[key] = _coerce(value, default, f"{where}{key}")
    return cls(**kwargs)


_OPTIONAL: dict[str, Any] = {"int | None": 0}
"""For settings whose default is None, by their annotation: a value of the type they take."""


def _coerce(value: Any, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"Setting '{name}' must be true or false.")
        return value
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"Setting '{name}' must be a number.")
        if isinstance(default, int) and not float(value).is_integer():
            raise ConfigError(f"Setting '{name}' must be a whole number.")
        return type(default)(value)
    if isinstance(default, str):
        return str(value)
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"Setting '{name}' must be a list.")
        return [str(item) for item in value]
    return value


def load_config(path: str | Path | None) -> KioskConfig:
    """Reads a kiosk TOML file; ``None`` gives the defaults."""
    if path is None:
        return KioskConfig()
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"Kiosk config {path} does not exist; pass an existing file to "
                          f"--config or copy assets/ui/kiosk.example.toml.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Kiosk config {path} is not valid TOML ({error}).") from None
    return _build(KioskConfig, data, "")


def log_dir_of(path: str | Path | None) -> str:
    """The ``log_dir`` a config file asks for, read even when the file as a whole is refused
    (so that the refusal reaches that kiosk.log); the default when it names none."""
    default = KioskConfig.__dataclass_fields__["log_dir"].default
    try:
        with Path(path).open("rb") as handle:  # type: ignore[arg-type]
            value = tomllib.load(handle).get("log_dir", default)
    except (TypeError, OSError, tomllib.TOMLDecodeError):
        return default
    return value if isinstance(value, str) and value.strip() else default


def with_overrides(config: KioskConfig, **sections: dict[str, Any]) -> KioskConfig:
    """Copy of ``config`` with some fields replaced, e.g. ``camera={"source": "demo.mp4"}``."""
    updates: dict[str, Any] = {}
    for name, values in sections.items():
        current = getattr(config, name)
        updates[name] = replace(current, **values) if is_dataclass(current) else values
    return replace(config, **updates)
