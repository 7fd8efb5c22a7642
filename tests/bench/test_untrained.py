"""bench/untrained.py: a real-size untrained bundle for offline latency, clearly labelled.

The test uses the tiny open_clip config and a tiny decoder (same code path as ViT-B-32 and the
paper-size decoder, which `python -m bench.untrained` builds by default).
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
from safetensors import safe_open

from bench.report import UNTRAINED_LABEL
from bench.untrained import build_untrained_bundle, write_untrained_run, write_untrained_vocoder
from core.audio_config import DEFAULT_AUDIO
from tests.conftest import register_tiny_open_clip
from tests.export.bundle_fixture import TINY_FRAMES


@pytest.fixture(scope="module")
def untrained_bundle(tmp_path_factory) -> Path:
    from training.models import Art2MusicConfig

    register_tiny_open_clip()
    root = tmp_path_factory.mktemp("untrained")
    audio = replace(DEFAULT_AUDIO, frames=TINY_FRAMES)
    run = write_untrained_run(root / "run", "open_clip:tiny-ViT", "open_clip:tiny-ViT",
                              config=Art2MusicConfig.tiny(32, 32, TINY_FRAMES), audio=audio)
    vocoder = write_untrained_vocoder(root / "run" / "vocoder", "tiny", audio=audio)
    return build_untrained_bundle(run, root / "bundle", vocoder=str(vocoder)).bundle


def test_random_encoder_weights_are_saved_so_export_and_eager_share_them(untrained_bundle):
    manifest = json.loads((untrained_bundle / "manifest.json").read_text())
    image = manifest["encoders"]["image"]
    assert image["name"] == "tiny-ViT" and image["pretrained"].endswith(
        "tiny-ViT-untrained-seed0.safetensors")
    with safe_open(image["pretrained"], "np") as weights:
        assert weights.metadata()["untrained"] == "true"
    assert manifest["provenance"]["untrained"] is True
    assert manifest["provenance"]["vocoder"]["init"] == "random"
    assert "untrained" in manifest["licences"]["image_encoder"]


def test_short_bench_of_the_untrained_bundle_is_labelled(untrained_bundle, tmp_path, capsys):
    import argparse

    from bench import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--bundle", str(untrained_bundle), "--short", "--providers", "cpu",
                              "--out", str(tmp_path), "--chunk-frames", "8"])
    assert cli.run(args) == 0
    printed = capsys.readouterr().out
    assert "UNTRAINED" in printed
    summary = dict(csv.reader((tmp_path / "summary.csv").open()))
    assert summary["weights"] == UNTRAINED_LABEL
    rows = list(csv.DictReader((tmp_path / "latency.csv").open()))
    eager = {r["stage"]: r for r in rows if r["backend"] == "eager"}
    assert {"image", "text", "mel", "vocode whole piece"} <= set(eager)  # same weights, loaded
    assert float(eager["vocode whole piece"]["max_abs_diff_vs_eager"]) < 1e-3
