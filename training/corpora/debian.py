"""Debian packages as data sources: check, install on request, and list their files."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence

log = logging.getLogger(__name__)


class DebianError(RuntimeError):
    """A Debian package a source needs is missing and could not be installed."""


def is_installed(package: str) -> bool:
    """True when dpkg reports `package` as installed (False where dpkg itself is absent)."""
    if shutil.which("dpkg-query") is None:
        return False
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and result.stdout.strip().endswith("installed")


def ensure_installed(packages: Sequence[str], install: bool = True) -> None:
    """Installs the missing `packages` with apt-get, or raises DebianError saying what to do."""
    missing = [p for p in packages if not is_installed(p)]
    if not missing:
        return
    names = " ".join(missing)
    if not install:
        raise DebianError(f"Debian packages missing: {names}; run `apt-get install {names}`.")
    if shutil.which("apt-get") is None:
        raise DebianError(
            f"apt-get is not available here, so {names} cannot be installed; "
            "install them by other means or skip this source."
        )
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise DebianError(f"Installing {names} needs root; run `sudo {' '.join(command)}`.")
        command = ["sudo", "-n", *command]
    log.info("Installing Debian packages: %s", names)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    still_missing = [p for p in missing if not is_installed(p)]
    if result.returncode != 0 or still_missing:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DebianError(f"apt-get could not install {names} ({tail[0]}).")


def package_files(package: str, suffixes: Sequence[str] = ()) -> list[str]:
    """Regular files installed by `package` (optionally only those ending in `suffixes`)."""
    result = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DebianError(f"dpkg does not know the package {package}; install it first.")
    files = [line for line in result.stdout.splitlines() if os.path.isfile(line)]
    if suffixes:
        files = [f for f in files if f.lower().endswith(tuple(s.lower() for s in suffixes))]
    return sorted(files)
