"""Every corpora source installs its Debian packages one way, and a missing one stops the build.

No test runs apt-get: the FluidSynth binary, dpkg and apt-get are hidden by monkeypatching.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from training.corpora import build, cli, debian
from training.corpora.completeness import explain, source_counts
from training.corpora.config import CorporaConfig
from training.corpora.masterpieces import load_comments
from training.corpora.procedural_music import PACKAGES, build_procedural
from training.corpora.recorded import SOURCES

SYNTH_PACKAGES = "fluidsynth fluid-soundfont-gm"
APT = "apt-get install -y --no-install-recommends"


@pytest.fixture
def bare_machine(monkeypatch):
    """No fluidsynth binary, no Debian package installed; `hide` more commands by name."""
    real_which = shutil.which
    hidden = {"fluidsynth"}
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k:
                        None if name in hidden else real_which(name, *a, **k))
    monkeypatch.setattr(debian, "is_installed", lambda package: False)
    monkeypatch.setattr(debian.os, "geteuid", lambda: 0)

    def never(*args, **kwargs):
        raise AssertionError(f"no command may run here: {args}")

    monkeypatch.setattr(debian.subprocess, "run", never)
    return hidden


def test_without_apt_the_error_names_source_packages_and_command(bare_machine):
    bare_machine.add("apt-get")
    with pytest.raises(debian.DebianError) as caught:
        debian.ensure_installed(PACKAGES, source="procedural music")
    message = str(caught.value)
    assert message.startswith(f"procedural music needs Debian packages {SYNTH_PACKAGES}, but "
                              "apt-get is not available here")
    assert f"`{APT} {SYNTH_PACKAGES}`" in message
    assert caught.value.packages == PACKAGES


def test_without_root_or_sudo_the_error_says_run_it_as_root(bare_machine, monkeypatch):
    bare_machine.add("sudo")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k:
                        None if name in bare_machine else f"/usr/bin/{name}")
    monkeypatch.setattr(debian.os, "geteuid", lambda: 1000)
    with pytest.raises(debian.DebianError, match=r"needs root and sudo is not available: run "
                                                 rf"`sudo {APT} gcompris-qt-data` as root"):
        debian.ensure_installed(["gcompris-qt-data"], source="masterpieces")


def test_no_install_never_calls_apt(bare_machine):
    with pytest.raises(debian.DebianError, match=rf"missing \(--no-install\); run `{APT} "
                                                 "wesnoth-1.16-data`"):
        debian.ensure_installed(["wesnoth-1.16-data"], install=False, source="portraits")


def test_a_failed_apt_run_keeps_its_last_line(bare_machine, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/usr/bin/{name}")
    monkeypatch.setattr(debian.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 100, "", "Reading package lists...\nE: Unable to locate package fluidsynth\n"))
    with pytest.raises(debian.DebianError, match=r"could not install them \(E: Unable to locate "
                                                 r"package fluidsynth\); run `apt-get install"):
        debian.ensure_installed(PACKAGES, source="procedural music")


def test_procedural_music_installs_its_packages_like_the_other_sources(bare_machine,
                                                                       monkeypatch, tmp_path):
    calls = []

    def record(packages, install=True, source=""):
        calls.append((tuple(packages), install, source))
        raise debian.DebianError("stop here", packages)

    monkeypatch.setattr("training.corpora.procedural_music.ensure_installed", record)
    with pytest.raises(debian.DebianError):
        build_procedural(CorporaConfig(out=tmp_path, procedural_clips=3, install=False))
    assert calls == [(("fluidsynth", "fluid-soundfont-gm"), False, "procedural music")]
    assert not (tmp_path / "audio").exists()


def music_rows(packages: list[str], per_package: int) -> list[dict]:
    return [{"id": f"{p}-{i}", "audio_path": f"/x/{p}/{i}.ogg", "duration": 10.4, "licence": "L",
             "feeling": "calm", "keywords": ["calm"], "labels": ["Music"], "caption": "c",
             "source": f"debian:{p}"} for p in packages for i in range(per_package)]


def painting_rows(source: str, images: int) -> list[dict]:
    return [{"id": f"{source}-{i}-c1", "image_path": f"paintings/{source}/{i}.png",
             "comment": "c", "emotion": "awe", "source": source, "licence": "L",
             "held_out": False} for i in range(images)]


@pytest.fixture
def other_stages(monkeypatch):
    """Every stage but procedural music returns complete made-up rows at once."""
    packages = [source.package for source in SOURCES]
    masterpieces = len(load_comments())
    monkeypatch.setattr(build, "build_recorded", lambda config, problems:
                        music_rows(packages, config.recorded_clips // len(packages)))
    monkeypatch.setattr(build, "build_masterpieces", lambda config, problems:
                        painting_rows("masterpieces", masterpieces))
    monkeypatch.setattr(build, "build_painterly", lambda config:
                        painting_rows("painterly", config.painterly_images))
    monkeypatch.setattr(build, "build_portraits", lambda config, problems:
                        painting_rows("portraits", config.portraits))


def run_cli(tmp_path: Path, *extra: str) -> int:
    parser = cli.add_arguments(argparse.ArgumentParser())
    return cli.run(parser.parse_args(["--out", str(tmp_path / "corpora"), "--no-artworks",
                                      "--recorded-clips", "6", "--procedural-clips", "4",
                                      "--painterly-images", "2", "--portraits", "2", *extra]))


def test_build_corpora_fails_when_fluidsynth_is_missing(bare_machine, other_stages, tmp_path,
                                                        capsys):
    bare_machine.add("apt-get")
    assert run_cli(tmp_path) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"build-corpora: error: procedural music: built 0 of 4 clips requested (at "
                   f"least 4 needed); its Debian packages {SYNTH_PACKAGES} are missing: run "
                   f"`{APT} {SYNTH_PACKAGES}` and rerun build-corpora (finished work is kept), "
                   "or pass --allow-partial to build without it."]
    summary = json.loads((tmp_path / "corpora" / "summary.json").read_text())
    assert summary["shortfalls"] == [err[0].removeprefix("build-corpora: error: ")]
    assert summary["problems"][0].startswith("procedural music skipped: procedural music needs "
                                             f"Debian packages {SYNTH_PACKAGES}")
    procedural = next(s for s in summary["sources"] if s["name"] == "procedural music")
    assert procedural == {"name": "procedural music", "unit": "clips", "requested": 4,
                          "built": 0, "needed": 4, "packages": list(PACKAGES)}


def test_allow_partial_builds_the_rest_and_warns(bare_machine, other_stages, tmp_path, capsys):
    bare_machine.add("apt-get")
    assert run_cli(tmp_path, "--allow-partial") == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("build-corpora: warning: procedural music: built 0 of 4")
    assert json.loads(captured.out.split("\nSummary written")[0])["music_clips"] == 6
    assert len((tmp_path / "corpora" / "music.jsonl").read_text().splitlines()) == 6


def test_a_complete_build_exits_0(bare_machine, other_stages, tmp_path, capsys):
    assert run_cli(tmp_path, "--procedural-clips", "0") == 0
    assert "build-corpora:" not in capsys.readouterr().err


def test_a_missing_soundtrack_is_a_shortfall_although_the_others_fill_its_share(bare_machine):
    present = [source.package for source in SOURCES[:2]]
    counts = source_counts(CorporaConfig(recorded_clips=600, procedural_clips=0,
                                         painterly_images=0, portraits=0),
                           music_rows(present, 300), [], painting_rows("m", 22), [], [])
    short = [count for count in counts if count.short]
    assert [count.name for count in short] == [f"recorded music ({SOURCES[2].name})"]
    assert not counts[0].short  # 600 of 600 recorded clips
    assert explain(short[0]).startswith(f"recorded music ({SOURCES[2].name}): built 0 of 200 "
                                        f"clips requested (at least 1 needed); its Debian "
                                        f"packages {SOURCES[2].package} are missing")


def test_far_fewer_than_requested_is_a_shortfall():
    config = CorporaConfig(recorded_clips=0, procedural_clips=100, painterly_images=0,
                           portraits=0)
    built = music_rows(["x"], 79)
    procedural = next(c for c in source_counts(config, [], built, [], [], [])
                      if c.name == "procedural music")
    assert procedural.needed == 80 and procedural.short
    enough = next(c for c in source_counts(config, [], built + built[:1], [], [], [])
                  if c.name == "procedural music")
    assert not enough.short
