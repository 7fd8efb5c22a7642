"""`main.py`: one entry point whose sub-commands all describe their options."""

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

import main

REPO = Path(__file__).resolve().parents[1]


def _help(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", command, "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def help_runs() -> Iterator[dict[str, Future]]:
    """`main.py COMMAND --help` of every command, each in a fresh interpreter (so a module that
    imports only after another command's imports still fails), one per core side by side: each
    run is mostly imports, and one after another they took ~17 s on 2 cores."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = {command: pool.submit(_help, command) for command in sorted(main.COMMANDS)}
        yield runs
        for run in runs.values():
            run.cancel()


@pytest.mark.parametrize("command", sorted(main.COMMANDS))
def test_every_sub_command_has_help(command, help_runs):
    result = help_runs[command].result()
    assert result.returncode == 0, result.stderr[-1500:]
    assert "usage: main.py " + command in result.stdout
    assert result.stdout.count("--") >= 2


def test_kiosk_command_does_not_load_torch():
    code = ("import sys, main\n"
            "try:\n    main.main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip().endswith("NO-TORCH"), result.stdout + result.stderr
