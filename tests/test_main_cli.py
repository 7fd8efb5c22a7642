"""`main.py`: one entry point whose sub-commands all describe their options."""

import subprocess
import sys
from pathlib import Path

import pytest

import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", sorted(main.COMMANDS))
def test_every_sub_command_has_help(command):
    result = subprocess.run([sys.executable, "main.py", command, "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=180)
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
