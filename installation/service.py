"""The files that start the kiosk at login and restart it after a crash or a freeze.

Two mechanisms, one or both (``Mode``):

- a **systemd user unit** (``$XDG_CONFIG_HOME/systemd/user/art2music-kiosk.service``):
  ``Type=notify`` (the kiosk says ``READY=1`` once its window is up, installation/watchdog.py),
  ``Restart=on-failure`` with ``RestartSec``, and ``WatchdogSec`` as a backstop should the
  kiosk's own watchdog thread stop answering; started with the graphical session;
- an **XDG autostart entry** (``$XDG_CONFIG_HOME/autostart/art2music-kiosk.desktop``), run by the
  desktop at login. With the unit it hands the session's display variables to the systemd user
  manager and starts the unit (desktops without ``graphical-session.target`` need that); alone
  (no systemd) it runs the kiosk in a shell loop that restarts it after a non-zero exit.

Only text is made here (``unit_text``, ``desktop_text``); ``install`` / ``uninstall`` write and
remove the files and ask ``systemctl --user`` to (un)register the unit when it is reachable.
"""

from __future__ import annotations

import enum
import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE_NAME = "art2music-kiosk"
UNIT_FILE = f"{SERVICE_NAME}.service"
DESKTOP_FILE = f"{SERVICE_NAME}.desktop"
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")
"""The session's variables a graphical kiosk needs, handed to the unit."""
WATCHDOG_MARGIN_S = 10.0
"""systemd's watchdog fires this long after the kiosk's own would have (which logs the stack)."""
MARKER = "Written by `main.py install-service` (Art2Music Live)"
"""First-line marker: ``--uninstall`` only removes files that carry it."""


class Mode(enum.StrEnum):
    SYSTEMD = "systemd"
    AUTOSTART = "autostart"
    BOTH = "both"


class ServiceError(RuntimeError):
    """The service files cannot be written or removed as asked."""


@dataclass(frozen=True)
class ServiceSpec:
    """What the kiosk service runs and how."""

    python: Path
    """The virtual environment's interpreter (not resolved: a venv's python is a symlink)."""
    main: Path
    workdir: Path
    run_args: tuple[str, ...] = ("run",)
    freeze_seconds: float = 20.0
    """The kiosk's own watchdog limit (config ``watchdog.freeze_seconds``)."""
    restart_seconds: float = 5.0
    environment: dict[str, str] = field(default_factory=dict)
    """Extra variables for the unit (the display), name → value."""

    @property
    def command(self) -> list[str]:
        return [str(self.python), str(self.main), *self.run_args]


@dataclass(frozen=True)
class ServicePaths:
    unit: Path
    desktop: Path

    @classmethod
    def under(cls, config_home: Path) -> ServicePaths:
        return cls(config_home / "systemd" / "user" / UNIT_FILE,
                   config_home / "autostart" / DESKTOP_FILE)

    def for_mode(self, mode: Mode) -> list[Path]:
        return {Mode.SYSTEMD: [self.unit], Mode.AUTOSTART: [self.desktop],
                Mode.BOTH: [self.unit, self.desktop]}[mode]


def config_home(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME``, else ``~/.config`` (the XDG base directory rule)."""
    value = environ.get("XDG_CONFIG_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(environ.get("HOME") or Path.home()) / ".config"


def display_environment(environ: Mapping[str, str] = os.environ,
                        overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The display variables set now (``overrides`` win; an empty override drops one)."""
    chosen = {name: environ[name] for name in DISPLAY_VARIABLES if environ.get(name)}
    for name, value in (overrides or {}).items():
        if value:
            chosen[name] = value
        else:
            chosen.pop(name, None)
    return chosen


# ------------------------------------------------------------------------------ quoting
def systemd_quote(argument: str) -> str:
    """One word of an ``ExecStart=`` line (systemd.service "Command lines")."""
    escaped = argument.replace("%", "%%").replace("$", "$$")
    if escaped and not any(c in escaped for c in " \t\"'\\;"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_assignment(name: str, value: str) -> str:
    """One ``Environment=`` entry, quoted."""
    text = f"{name}={value}".replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def desktop_exec(argv: Sequence[str]) -> str:
    """An ``Exec=`` value (Desktop Entry Specification, "The Exec key"): arguments with reserved
    characters double-quoted with ``" ` $ \\`` escaped, ``%`` doubled, then the value's own
    string escaping (``\\`` → ``\\\\``)."""
    words = []
    for argument in argv:
        argument = argument.replace("%", "%%")
        if argument and not any(c in argument for c in " \t\n\"'\\><~|&;$*?#()`"):
            words.append(argument)
            continue
        inner = "".join("\\" + c if c in '"`$\\' else c for c in argument)
        words.append(f'"{inner}"')
    return " ".join(words).replace("\\", "\\\\")


# ------------------------------------------------------------------------------ the files
def unit_text(spec: ServiceSpec) -> str:
    """The systemd user unit."""
    exec_start = " ".join(systemd_quote(word) for word in spec.command)
    environment = [f"Environment={systemd_assignment('PYTHONUNBUFFERED', '1')}"]
    environment += [f"Environment={systemd_assignment(name, value)}"
                    for name, value in sorted(spec.environment.items())]
    watchdog = spec.freeze_seconds + WATCHDOG_MARGIN_S
    lines = [
        f"# {MARKER}; `main.py install-service --uninstall` removes it.",
        "# Logs: journalctl --user -u " + UNIT_FILE + " -f, and the kiosk's own log file.",
        "[Unit]",
        "Description=Art2Music Live gallery kiosk",
        f"Documentation=file://{spec.workdir / 'README.md'}",
        "After=graphical-session.target",
        "PartOf=graphical-session.target",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={exec_start}",
        f"WorkingDirectory={systemd_quote(str(spec.workdir))}",
        "Restart=on-failure",
        f"RestartSec={spec.restart_seconds:g}",
        "# The kiosk pings while its UI and audio threads answer; its own watchdog exits (with",
        "# the stuck thread's stack in the log) after watchdog.freeze_seconds, this one later.",
        f"WatchdogSec={watchdog:g}",
        "TimeoutStartSec=120",
        "TimeoutStopSec=20",
        *environment,
        "# Without DISPLAY / WAYLAND_DISPLAY above, the session's own (imported at login by the",
        "# autostart entry or the desktop) are used.",
        "",
        "[Install]",
        "WantedBy=graphical-session.target",
        "",
    ]
    return "\n".join(lines)


def desktop_text(spec: ServiceSpec, mode: Mode) -> str:
    """The XDG autostart entry: starts the unit (``both``) or runs the kiosk in a restart loop
    (``autostart`` alone)."""
    if mode == Mode.AUTOSTART:
        kiosk = " ".join(shlex.quote(word) for word in spec.command)
        script = (f"cd {shlex.quote(str(spec.workdir))} && until {kiosk}; "
                  f"do sleep {spec.restart_seconds:g}; done")
        comment = "Starts the gallery kiosk at login and again whenever it fails"
    else:
        script = (f"systemctl --user import-environment {' '.join(DISPLAY_VARIABLES)}; "
                  f"exec systemctl --user start {UNIT_FILE}")
        comment = "Starts the gallery kiosk's service at login (systemd restarts it)"
    lines = [
        f"# {MARKER}; `main.py install-service --uninstall` removes it.",
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.5",
        "Name=Art2Music Live kiosk",
        f"Comment={comment}",
        f"Exec={desktop_exec(['sh', '-c', script])}",
        "Terminal=false",
        "NoDisplay=true",
        "X-GNOME-Autostart-enabled=true",
        "",
    ]
    return "\n".join(lines)


def planned_files(spec: ServiceSpec, mode: Mode, paths: ServicePaths) -> dict[Path, str]:
    """Path → content of every file ``install`` writes for ``mode``."""
    files: dict[Path, str] = {}
    if mode in (Mode.SYSTEMD, Mode.BOTH):
        files[paths.unit] = unit_text(spec)
    if mode in (Mode.AUTOSTART, Mode.BOTH):
        files[paths.desktop] = desktop_text(spec, mode)
    return files


# ------------------------------------------------------------------------------ systemctl
@dataclass
class Systemctl:
    """``systemctl --user``; ``run`` returns an error sentence, or None when it worked."""

    executable: str | None = field(default_factory=lambda: shutil.which("systemctl"))

    def run(self, *arguments: str) -> str | None:
        if self.executable is None:
            return "systemctl is not installed"
        try:
            result = subprocess.run([self.executable, "--user", *arguments], capture_output=True,
                                    text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
        if result.returncode != 0:
            return (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        return None


def install(spec: ServiceSpec, mode: Mode, paths: ServicePaths, enable: bool = True,
            start: bool = False, systemctl: Systemctl | None = None) -> list[str]:
    """Writes the files (atomically) and registers the unit; returns what was done, one line
    each (warnings start with "Warning:")."""
    done = []
    for path, text in planned_files(spec, mode, paths).items():
        _write(path, text)
        done.append(f"Wrote {path}")
    if mode == Mode.AUTOSTART or not enable:
        if mode != Mode.AUTOSTART:
            done.append(f"Not registered with systemd (--no-enable): run `systemctl --user "
                        f"daemon-reload && systemctl --user enable {UNIT_FILE}`.")
        return done
    systemctl = systemctl or Systemctl()
    steps = [("daemon-reload",), ("enable", UNIT_FILE)] + ([("start", UNIT_FILE)] if start else [])
    for step in steps:
        error = systemctl.run(*step)
        command = "systemctl --user " + " ".join(step)
        if error:
            done.append(f"Warning: `{command}` failed ({error}); the files are in place, run "
                        f"it in the kiosk user's desktop session.")
            break
        done.append(f"Ran `{command}`")
    return done


def uninstall(paths: ServicePaths, systemctl: Systemctl | None = None,
              use_systemctl: bool = True) -> list[str]:
    """Stops and unregisters the unit, then removes the files this tool wrote."""
    done = []
    systemctl = systemctl or Systemctl()
    if use_systemctl and paths.unit.exists():
        error = systemctl.run("disable", "--now", UNIT_FILE)
        done.append(f"Warning: `systemctl --user disable --now {UNIT_FILE}` failed ({error})"
                    if error else f"Ran `systemctl --user disable --now {UNIT_FILE}`")
    for path in (paths.unit, paths.desktop):
        if not path.exists():
            continue
        if MARKER not in path.read_text(encoding="utf-8", errors="replace").splitlines()[0]:
            raise ServiceError(f"{path} was not written by `main.py install-service`; remove "
                               "it by hand if it belongs to the kiosk.")
        path.unlink()
        done.append(f"Removed {path}")
    if use_systemctl and f"Removed {paths.unit}" in done:
        error = systemctl.run("daemon-reload")
        if error:
            done.append(f"Warning: `systemctl --user daemon-reload` failed ({error})")
    if not done:
        done.append(f"Nothing to remove: no {UNIT_FILE} or {DESKTOP_FILE} under "
                    f"{paths.unit.parents[2]}.")
    return done


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise ServiceError(f"Cannot write {path} ({error.strerror or error}); check that the "
                           "folder belongs to the kiosk user.") from None
