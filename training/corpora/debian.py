"""Debian packages as data sources: check, install on request, and list their files.

Every corpora source names its packages in one list (recorded soundtracks, FluidSynth and its
soundfont, gcompris paintings, Wesnoth portraits) and installs them through
:func:`ensure_installed`, so a fresh machine gets all of them the same way, or a
:class:`DebianError` that names the source, the packages and the apt-get command.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence

log = logging.getLogger(__name__)


class DebianError(RuntimeError):
    """A Debian package a source needs is missing and could not be installed."""

    def __init__(self, message: str, packages: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.packages = tuple(packages)


def is_installed(package: str) -> bool:
    """True when dpkg reports `package` as installed (False where dpkg itself is absent)."""
    if shutil.which("dpkg-query") is None:
        return False
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and result.stdout.strip().endswith("installed")


def missing_packages(packages: Sequence[str]) -> list[str]:
    """The `packages` dpkg does not report as installed, in order."""
    return [p for p in packages if not is_installed(p)]


def apt_command(packages: Sequence[str]) -> str:
    """The command line that installs `packages` (with sudo when this process is not root)."""
    command = f"apt-get install -y --no-install-recommends {' '.join(packages)}"
    return command if os.geteuid() == 0 else f"sudo {command}"


def ensure_installed(packages: Sequence[str], install: bool = True, source: str = "") -> None:
    """Installs the missing `packages` with apt-get, or raises DebianError saying what to do.

    `source` (e.g. "procedural music") names what needs them in the messages.
    """
    missing = missing_packages(packages)
    if not missing:
        return
    names = " ".join(missing)
    what = f"{source} needs" if source else "needed:"
    fix = f"`{apt_command(missing)}`"
    if not install:
        raise DebianError(f"{what} Debian packages {names}, which are missing (--no-install); "
                          f"run {fix}.", missing)
    if shutil.which("apt-get") is None:
        raise DebianError(
            f"{what} Debian packages {names}, but apt-get is not available here, so they cannot "
            "be installed; install them by other means (on Debian/Ubuntu: "
            f"{fix}).", missing)
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise DebianError(f"{what} Debian packages {names}; installing them needs root and "
                              f"sudo is not available: run {fix} as root.", missing)
        command = ["sudo", "-n", *command]
    log.info("Installing Debian packages%s: %s", f" for {source}" if source else "", names)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    still_missing = missing_packages(missing)
    if result.returncode != 0 or still_missing:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DebianError(f"{what} Debian packages {names}; apt-get could not install them "
                          f"({tail[0]}); run {fix} yourself.", still_missing or missing)


def package_files(package: str, suffixes: Sequence[str] = ()) -> list[str]:
    """Regular files installed by `package` (optionally only those ending in `suffixes`)."""
    result = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DebianError(f"dpkg does not know the package {package}; install it first.",
                          [package])
    files = [line for line in result.stdout.splitlines() if os.path.isfile(line)]
    if suffixes:
        files = [f for f in files if f.lower().endswith(tuple(s.lower() for s in suffixes))]
    return sorted(files)
