"""``main.py install-service``: start the kiosk at login, restart it after a crash or a freeze.

    python main.py install-service --config /etc/art2music/kiosk.toml   # unit + autostart entry
    python main.py install-service --dry-run                           # print, write nothing
    python main.py install-service --mode autostart                    # no systemd: a shell loop
    python main.py install-service --uninstall

Run it as the user the kiosk runs as (the desktop's auto-login user), not as root. Files go
under ``$XDG_CONFIG_HOME`` (default ``~/.config``); installation/service.py says what each does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from installation.config import REPO_ROOT, ConfigError, load_config
from installation.service import (
    DISPLAY_VARIABLES,
    Mode,
    ServiceError,
    ServicePaths,
    ServiceSpec,
    config_home,
    display_environment,
    install,
    planned_files,
    uninstall,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="kiosk TOML file the service runs with "
                        "(its absolute path goes into the unit; default: the built-in settings)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.BOTH.value,
                        help="systemd: a user unit (restart on failure, watchdog); autostart: an "
                        "XDG autostart entry that restarts the kiosk in a shell loop (no "
                        "systemd); both: the unit, started at login by the autostart entry")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the files and commands instead of writing or running them")
    parser.add_argument("--uninstall", action="store_true",
                        help="stop and unregister the service, remove the files it wrote")
    parser.add_argument("--no-enable", action="store_true",
                        help="write the files but do not run `systemctl --user enable`")
    parser.add_argument("--start", action="store_true", help="also start the kiosk now")
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="the interpreter the service runs (the project's .venv)")
    parser.add_argument("--display", help="DISPLAY for the unit (default: the current one; "
                        "\"\" leaves it to the session)")
    parser.add_argument("--restart-seconds", type=float, default=5.0,
                        help="pause before a restart after a crash")


def build_spec(args: argparse.Namespace) -> ServiceSpec:
    """The service as the options describe it; raises ConfigError for a bad kiosk config."""
    run_args: tuple[str, ...] = ("run",)
    config = load_config(args.config)  # refused now rather than at every restart
    if args.config is not None:
        run_args += ("--config", str(args.config.expanduser().resolve()))
    if not 0.5 <= args.restart_seconds <= 600:
        raise ConfigError(f"--restart-seconds must be between 0.5 and 600, not "
                          f"{args.restart_seconds:g}.")
    python = args.python if args.python.is_absolute() else Path.cwd() / args.python
    if not python.exists():
        raise ConfigError(f"The interpreter {python} does not exist; run ./install.sh first or "
                          "pass --python .venv/bin/python.")
    overrides = {"DISPLAY": args.display} if args.display is not None else None
    return ServiceSpec(python=python, main=REPO_ROOT / "main.py", workdir=REPO_ROOT,
                       run_args=run_args, freeze_seconds=config.watchdog.freeze_seconds,
                       restart_seconds=args.restart_seconds,
                       environment=display_environment(os.environ, overrides))


def run(args: argparse.Namespace) -> int:
    paths = ServicePaths.under(config_home())
    mode = Mode(args.mode)
    try:
        if args.uninstall:
            if args.dry_run:
                for path in (paths.unit, paths.desktop):
                    print(f"Would remove {path}" + ("" if path.exists() else " (not there)"))
                print("Would run `systemctl --user disable --now art2music-kiosk.service` "
                      "and `systemctl --user daemon-reload`.")
                return 0
            for line in uninstall(paths):
                print(line)
            return 0
        spec = build_spec(args)
        if args.dry_run:
            for path, text in planned_files(spec, mode, paths).items():
                print(f"--- would write {path}\n{text}")
            if mode != Mode.AUTOSTART and not args.no_enable:
                print("Would run `systemctl --user daemon-reload` and `systemctl --user enable "
                      "art2music-kiosk.service`" + (" and start it." if args.start else "."))
            return 0
        lines = install(spec, mode, paths, enable=not args.no_enable, start=args.start)
    except (ConfigError, ServiceError) as error:
        print(f"install-service: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(line, file=sys.stderr if line.startswith("Warning:") else sys.stdout)
    if not spec.environment.keys() & {"DISPLAY", "WAYLAND_DISPLAY"} and mode == Mode.SYSTEMD:
        print(f"Note: no {'/'.join(DISPLAY_VARIABLES[:2])} is set here; the unit takes the "
              "session's, which the desktop must export to systemd (most do; else use "
              "--mode both or --display :0).")
    return 0
