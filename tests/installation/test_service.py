"""`main.py install-service`: the systemd user unit and the XDG autostart entry, written into a
temporary XDG_CONFIG_HOME and read back the way systemd and a desktop read them."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from installation.service import (
    MARKER,
    Mode,
    ServiceError,
    ServicePaths,
    ServiceSpec,
    Systemctl,
    desktop_exec,
    install,
    uninstall,
)

REPO = Path(__file__).resolve().parents[2]
UNIT = "systemd/user/art2music-kiosk.service"
DESKTOP = "autostart/art2music-kiosk.desktop"


def install_service(tmp_path: Path, *options: str, display: str | None = ":7"
                    ) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    if display:
        env["DISPLAY"] = display
    return subprocess.run([sys.executable, "main.py", "install-service", *options], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)


def read_unit(path: Path) -> configparser.ConfigParser:
    """A unit file as sections of keys (systemd's syntax is INI-like; repeated keys such as
    Environment= are kept as a list)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       dict_type=_MultiDict, empty_lines_in_values=False)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser


class _MultiDict(dict):
    def __setitem__(self, key, value):
        if isinstance(value, list) and key in self and isinstance(self[key], list):
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def read_desktop(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def exec_argv(value: str) -> list[str]:
    """The argv a desktop runs for an Exec= value, read as the Desktop Entry Specification says:
    first the string value's escapes (\\s \\n \\t \\r \\\\), then the Exec quoting (inside
    double quotes a backslash escapes " ` $ \\), then the doubled field-code %."""
    text, i = "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            text += {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(value[i + 1], value[i + 1])
            i += 2
        else:
            text += value[i]
            i += 1
    words, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        word = ""
        if text[i] == '"':
            i += 1
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] in '"`$\\':
                    i += 1
                word += text[i]
                i += 1
            i += 1
        else:
            while i < len(text) and text[i] != " ":
                assert text[i] not in '"\'\\`$;&|<>', f"unquoted reserved character in {text}"
                word += text[i]
                i += 1
        words.append(word.replace("%%", "%"))
    return words


def verify_with_systemd(unit: Path, tmp_path: Path) -> None:
    """`systemd-analyze --user verify`: fails on unbalanced quoting, a missing ExecStart binary;
    any warning it prints about the unit (unknown key, bad value) fails the test too."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    runtime = tmp_path / "runtime"
    runtime.mkdir(exist_ok=True, mode=0o700)
    result = subprocess.run([analyze, "--user", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
    if "Failed to initialize manager" in result.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert unit.name not in result.stdout + result.stderr, result.stderr


def test_unit_and_autostart_entry_are_valid_and_complete(tmp_path):
    config = tmp_path / "gallery kiosk.toml"
    config.write_text("[watchdog]\nfreeze_seconds = 25\n", encoding="utf-8")
    result = install_service(tmp_path, "--config", str(config), "--no-enable")
    assert result.returncode == 0, result.stderr
    unit_path, desktop_path = tmp_path / "config" / UNIT, tmp_path / "config" / DESKTOP
    assert f"Wrote {unit_path}" in result.stdout and f"Wrote {desktop_path}" in result.stdout

    unit = read_unit(unit_path)
    service = unit["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["Restart"] == "on-failure" and float(service["RestartSec"]) == 5
    assert float(service["WatchdogSec"]) == 35  # the kiosk's own 25 s first, systemd's later
    argv = shlex.split(service["ExecStart"])
    assert argv == [sys.executable, str(REPO / "main.py"), "run", "--config", str(config)]
    assert service["WorkingDirectory"] == str(REPO)
    environment = service["Environment"].splitlines()
    assert '"DISPLAY=:7"' in environment and '"PYTHONUNBUFFERED=1"' in environment
    assert unit["Install"]["WantedBy"] == "graphical-session.target"
    assert unit["Unit"]["PartOf"] == "graphical-session.target"
    verify_with_systemd(unit_path, tmp_path)

    entry = read_desktop(desktop_path)
    assert entry["Type"] == "Application" and entry["NoDisplay"] == "true"
    sh, flag, script = exec_argv(entry["Exec"])
    assert (sh, flag) == ("sh", "-c")
    assert script == ("systemctl --user import-environment DISPLAY WAYLAND_DISPLAY XAUTHORITY; "
                      "exec systemctl --user start art2music-kiosk.service")


def test_dry_run_prints_the_files_and_writes_nothing(tmp_path):
    result = install_service(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"--- would write {tmp_path / 'config' / UNIT}" in result.stdout
    assert f"--- would write {tmp_path / 'config' / DESKTOP}" in result.stdout
    assert "Restart=on-failure" in result.stdout and "[Desktop Entry]" in result.stdout
    assert "Would run `systemctl --user daemon-reload`" in result.stdout
    assert not (tmp_path / "config").exists()


def test_uninstall_removes_exactly_what_install_wrote(tmp_path):
    assert install_service(tmp_path, "--mode", "systemd", "--no-enable").returncode == 0
    unit_path = tmp_path / "config" / UNIT
    assert unit_path.is_file() and not (tmp_path / "config" / DESKTOP).exists()
    dry = install_service(tmp_path, "--uninstall", "--dry-run")
    assert f"Would remove {unit_path}" in dry.stdout and unit_path.is_file()
    result = install_service(tmp_path, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert f"Removed {unit_path}" in result.stdout and not unit_path.exists()
    again = install_service(tmp_path, "--uninstall")
    assert "Nothing to remove" in again.stdout


def test_uninstall_leaves_a_file_it_did_not_write(tmp_path):
    paths = ServicePaths.under(tmp_path)
    paths.desktop.parent.mkdir(parents=True)
    paths.desktop.write_text("[Desktop Entry]\nExec=someone-elses-kiosk\n", encoding="utf-8")
    with pytest.raises(ServiceError, match="was not written by `main.py install-service`"):
        uninstall(paths, use_systemctl=False)
    assert paths.desktop.is_file()


def fake_python(tmp_path: Path) -> Path:
    """A stand-in "interpreter" that records how it was run and fails its first run."""
    script = tmp_path / "bin dir" / "python"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text('#!/bin/sh\necho "$PWD|$*" >> "$RUNS_LOG"\n'
                      '[ -e "$RUNS_LOG.failed" ] && exit 0\ntouch "$RUNS_LOG.failed"; exit 1\n',
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_autostart_alone_runs_the_kiosk_and_restarts_it_after_a_failure(tmp_path):
    python = fake_python(tmp_path)
    config = tmp_path / "kiosk 100% $HOME.toml"  # characters that need quoting on both levels
    config.write_text("", encoding="utf-8")
    result = install_service(tmp_path, "--mode", "autostart", "--python", str(python),
                             "--config", str(config), "--restart-seconds", "0.5")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "config" / UNIT).exists()
    entry = read_desktop(tmp_path / "config" / DESKTOP)
    argv = exec_argv(entry["Exec"])
    runs = tmp_path / "runs.log"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "RUNS_LOG": str(runs)})
    assert done.returncode == 0, done.stderr
    lines = runs.read_text(encoding="utf-8").splitlines()
    expected = f"{REPO}|{REPO / 'main.py'} run --config {config}"
    assert lines == [expected, expected]  # failed once, restarted, then ended normally


def test_exec_quoting_round_trips_reserved_characters():
    words = ["sh", "-c", 'echo "a b" `x` $HOME \\ 50% ; done', "plain"]
    assert exec_argv(desktop_exec(words)) == words


def test_a_unit_with_spaces_and_percent_signs_in_paths_passes_systemd(tmp_path):
    python = fake_python(tmp_path)
    spec = ServiceSpec(python=python, main=REPO / "main.py", workdir=REPO,
                       run_args=("run", "--config", str(tmp_path / "a 100% b.toml")),
                       environment={"DISPLAY": ":0", "XAUTHORITY": str(tmp_path / "x auth")})
    lines = install(spec, Mode.SYSTEMD, ServicePaths.under(tmp_path / "cfg"), enable=False)
    unit = tmp_path / "cfg" / UNIT
    assert lines[0] == f"Wrote {unit}"
    assert unit.read_text(encoding="utf-8").startswith(f"# {MARKER}")
    verify_with_systemd(unit, tmp_path)


def fake_systemctl(tmp_path: Path, fail: bool = False) -> Systemctl:
    script = tmp_path / "systemctl"
    script.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls.log"\n'
                      + ('echo "Failed to connect to bus: No medium found" >&2; exit 1\n'
                         if fail else "exit 0\n"), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return Systemctl(str(script))


def test_install_registers_and_uninstall_unregisters_the_unit(tmp_path):
    systemctl = fake_systemctl(tmp_path)
    spec = ServiceSpec(python=Path(sys.executable), main=REPO / "main.py", workdir=REPO)
    paths = ServicePaths.under(tmp_path / "cfg")
    install(spec, Mode.BOTH, paths, start=True, systemctl=systemctl)
    uninstall(paths, systemctl=systemctl)
    calls = (tmp_path / "calls.log").read_text(encoding="utf-8").splitlines()
    assert calls == ["--user daemon-reload", "--user enable art2music-kiosk.service",
                     "--user start art2music-kiosk.service",
                     "--user disable --now art2music-kiosk.service", "--user daemon-reload"]
    assert not paths.unit.exists() and not paths.desktop.exists()


def test_without_a_user_bus_the_files_stay_and_the_warning_says_what_to_run(tmp_path):
    spec = ServiceSpec(python=Path(sys.executable), main=REPO / "main.py", workdir=REPO)
    paths = ServicePaths.under(tmp_path / "cfg")
    lines = install(spec, Mode.BOTH, paths, systemctl=fake_systemctl(tmp_path, fail=True))
    assert paths.unit.is_file() and paths.desktop.is_file()
    assert lines[-1].startswith("Warning: `systemctl --user daemon-reload` failed (Failed to "
                                "connect to bus")
    assert "run it in the kiosk user's desktop session" in lines[-1]


def test_bad_options_are_refused_in_one_sentence(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[watchdog]\nfreeze_seconds = 1\n", encoding="utf-8")
    result = install_service(tmp_path, "--config", str(bad), "--no-enable")
    assert result.returncode == 2
    assert "'watchdog.freeze_seconds' must be between 3 and 600" in result.stderr
    missing = install_service(tmp_path, "--python", str(tmp_path / "nope"), "--no-enable")
    assert missing.returncode == 2 and "run ./install.sh first" in missing.stderr
    assert not (tmp_path / "config").exists()
