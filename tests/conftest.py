"""Shared fixtures: a tiny generated data set and the tiny open_clip config used across tests."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One OpenMP thread for PyTorch here and in every subprocess a test starts (set it to override):
# the tests' models are tiny, and on a shared 2-core machine a second thread waits at every
# barrier for a busy core (tests/export + tests/bench took 94 s with two, 60 s with one).
os.environ.setdefault("OMP_NUM_THREADS", "1")

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).parent / "_artifacts"
EXAMPLE_PIECES = Path(__file__).resolve().parents[1] / "assets" / "examples"
TINY_CLIP = "open_clip:tiny-ViT"


def register_tiny_open_clip() -> None:
    import training  # noqa: F401  (defines torchvision's op schemas before open_clip loads)

    open_clip = importlib.import_module("open_clip")
    open_clip.add_model_config(FIXTURES / "open_clip")


def write_tiny_dataset(root: Path, n_clips: int = 4, rows_per_clip: int = 4) -> Path:
    """A data set in the CONTRACTS.md layout: tones of different pitch paired with colours."""
    from core.audio_config import DEFAULT_AUDIO
    from core.mel import mel_target

    root.mkdir(parents=True, exist_ok=True)
    (root / "mels").mkdir(exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    sr = DEFAULT_AUDIO.sample_rate
    t = np.arange(DEFAULT_AUDIO.clip_samples) / sr
    colours = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (220, 200, 60), (120, 40, 160)]
    rows = []
    for clip in range(n_clips):
        frequency = 110.0 * 2 ** clip
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * (clip + 1) * 0.3 * t)
        audio = (0.3 * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
        np.save(root / "mels" / f"clip{clip}.npy", mel_target(audio).astype(np.float16))
        for variant in range(rows_per_clip):
            image = np.full((48, 64, 3), colours[clip % len(colours)], np.uint8)
            cv2.circle(image, (16 + 8 * variant, 24), 6, (255, 255, 255), -1)
            image_path = root / "images" / f"img{clip}_{variant}.png"
            cv2.imwrite(str(image_path), image)
            index = clip * rows_per_clip + variant
            split = "train" if variant < rows_per_clip - 1 else ("val" if clip % 2 else "test")
            rows.append({
                "id": f"row{index}",
                "image_path": f"images/img{clip}_{variant}.png",
                "comment": f"comment {index}",
                "painting_emotion": [["awe", "sadness", "contentment", "fear"][clip % 4], "tone"],
                "audio_id": f"clip{clip}",
                "audio_path": f"clip{clip}.wav",
                "audio_offset": 0.0,
                "caption": f"a tone of {frequency:.0f} Hz",
                "audio_labels": ["Music"],
                "caption_keywords": ["tone"],
                "prompt": f"Art Commentary: colour {clip} variant {variant}. Audio: tone {clip}.",
                "similarity": 0.5,
                "mel_path": f"mels/clip{clip}.npy",
                "split": split,
            })
    with (root / "manifest.jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    register_tiny_open_clip()
    return write_tiny_dataset(tmp_path_factory.mktemp("dataset"))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


TINY_BUNDLE_CACHE_ENV = "A2M_TINY_BUNDLE_CACHE"
"""Mutation testing only (README, "Mutation testing"): a folder where the tiny bundle is exported
once and reused by the mutants of core/ and engine/, so that each mutant's run does not spend
~11 s re-exporting it. Mutants of export/ and mutmut's coverage run always export their own."""


def _tiny_bundle_cache() -> Path | None:
    folder = os.environ.get(TINY_BUNDLE_CACHE_ENV)
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if not folder or mutant == "stats" or mutant.startswith("export."):
        return None
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A complete exported bundle of a tiny model (built once per session; copy before editing)."""
    import fcntl

    from tests.export.bundle_fixture import build_tiny_bundle

    cache = _tiny_bundle_cache()
    if cache is None:
        return build_tiny_bundle(tmp_path_factory.mktemp("tiny-bundle"))
    register_tiny_open_clip()  # tests that load the run's encoders need its config
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (cache / "bundle" / "manifest.json").is_file():
            return cache / "bundle"
        return build_tiny_bundle(cache)


@pytest.fixture(scope="session")
def tiny_token_bundle(tmp_path_factory) -> Path:
    """A bundle like `tiny_bundle` but with the sampling token decoder (random codebooks, not
    trained; Griffin-Lim): its engine `samples`, each seed a new variation. Built once per
    session in a few seconds; copy before editing."""
    from tests.export.bundle_fixture import build_tiny_token_bundle

    return build_tiny_token_bundle(tmp_path_factory.mktemp("tiny-token-bundle"))


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory) -> Path:
    """The tiny training run the bundle is exported from."""
    from tests.export.bundle_fixture import tiny_run

    return tiny_run(tmp_path_factory.mktemp("tiny-run"))


@pytest.fixture
def one_torch_thread():
    """One intra-op thread for the test (`pytest.mark.usefixtures`): on 2 shared cores OpenMP's
    2-thread barriers stall the convolution-heavy HiFi-GAN tests badly."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def example_music(tmp_path_factory) -> Path:
    """A folder of real music: the three shipped example pieces (10.4 s WAVs), copied."""
    import shutil

    folder = tmp_path_factory.mktemp("example-music")
    for wav in sorted(EXAMPLE_PIECES.glob("*.wav")):
        shutil.copy(wav, folder / wav.name)
    return folder
