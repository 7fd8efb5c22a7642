"""Stage (optional): hand-painted Wesnoth portraits with comments from measured colour statistics.

The emotion is the nearest painterly preset to the measured statistics, among the emotions a
colour reading can support; the comment's phrases are read from the same measurements.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from training.corpora.config import WESNOTH_PORTRAITS, CorporaConfig
from training.corpora.debian import DebianError, ensure_installed
from training.corpora.painterly import ColourStats, measure_colour_stats
from training.corpora.painting_comments import Look, comments, dominant_colours
from training.corpora.painting_presets import MEASURED_TO_PARAMS, nearest_emotion
from training.corpora.stages import StageStore

PACKAGES: tuple[str, ...] = ("wesnoth-1.16-data",)
"""Debian packages this source needs (installed by `debian.ensure_installed`)."""
SOURCE = "debian:wesnoth-1.16-data"
LICENCE = "GPL-2+ (Battle for Wesnoth artwork)"
PORTRAIT_EMOTIONS = ("contentment", "awe", "excitement", "anger", "fear", "sadness")
BACKGROUND = (118, 112, 104)
RACES = {"drakes": "drake", "dunefolk": "dunefolk", "dwarves": "dwarvish", "elves": "elvish",
         "goblins": "goblin", "humans": "human", "merfolk": "merfolk", "nagas": "naga",
         "orcs": "orcish", "saurians": "saurian", "trolls": "troll", "undead": "undead",
         "wolves": "wolf", "woses": "wose"}


PORTRAIT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "contentment": (
        "The {light} light and {colours} give this {scene} a calm, friendly air; I feel at ease.",
        "{Colours} and gentle shading make the {scene} look kind and content.",
    ),
    "awe": (
        "The {colours} and {contrast} make this {scene} look majestic and powerful; I am in awe.",
        "Painted in {light} light, the {scene} looks noble and larger than life.",
    ),
    "excitement": (
        "The {colours} and {contrast} make this {scene} look bold and ready for action.",
        "So much energy in the {strokes}: the {scene} seems about to leap out of the frame.",
    ),
    "anger": (
        "The hot {colours} and {contrast} make this {scene} look fierce and furious.",
        "The {scene} glares out of {temp}, {sat} colours; it feels aggressive and angry.",
    ),
    "fear": (
        "The {light} tones and {colours} make this {scene} look menacing; it frightens me.",
        "In such {light} light the {scene} looks sinister; I would not want to meet it.",
    ),
    "sadness": (
        "The {sat}, {temp} {colours} make this {scene} look weary and sad.",
        "{Temp}, {light} tones give the {scene} a lonely, mournful look.",
    ),
}


def describe_subject(path: Path) -> str:
    """'female elvish marksman' from ``elves/marksman+female.png``."""
    name, female = path.stem.replace("+female", ""), "+female" in path.stem
    name = re.sub(r"[-_]?\d+$", "", name).replace("-", " ").replace("_", " ")
    race = RACES.get(path.parent.name, "")
    if race and name.split(" ")[0] == race:
        race = ""
    return " ".join(w for w in ("female" if female else "", race, name) if w)


def on_background(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB portrait over a flat neutral backdrop, and the mask of the painted pixels."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255 if rgba.shape[2] == 4 else np.ones(
        rgba.shape[:2] + (1,), np.float32)
    rgb = rgba[..., :3] * alpha + np.array(BACKGROUND, np.float32) * (1 - alpha)
    return rgb.clip(0, 255).astype(np.uint8), alpha[..., 0] > 0.5


def _look(stats: ColourStats, colours: tuple[str, ...], scene: str) -> Look:
    slope, intercept = MEASURED_TO_PARAMS
    values = np.clip(np.array([stats.warmth, stats.brightness, stats.saturation, stats.contrast,
                               stats.dynamism]) * slope + intercept, [-1, 0, 0, 0, 0], 1)
    return Look(*map(float, values), colours=colours, scene=scene)


def build_portraits(config: CorporaConfig, problems: list[str]) -> list[dict]:
    """Copies `config.portraits` evenly chosen portraits and comments on their colours."""
    if config.portraits <= 0:
        return []
    try:
        ensure_installed(PACKAGES, install=config.install, source="portraits")
    except DebianError as error:
        problems.append(f"portraits skipped: {error}")
        return []
    files = sorted(WESNOTH_PORTRAITS.rglob("*.png"))
    if not files:
        problems.append(f"portraits skipped: no PNG files under {WESNOTH_PORTRAITS}")
        return []
    chosen = [files[int(i)] for i in np.unique(np.linspace(0, len(files) - 1, config.portraits)
                                                .round().astype(int))]
    store = StageStore(config.stages_dir / "portraits.jsonl")
    out_dir = config.paintings_dir / "portraits"
    out_dir.mkdir(parents=True, exist_ok=True)
    units = [f"{p.parent.name}/{p.stem}" for p in chosen]
    for index, (path, unit) in enumerate(zip(tqdm(chosen, desc="portraits", unit="img"), units,
                                             strict=True)):
        if store.done(unit):
            continue
        rgba = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
        rgb, mask = on_background(rgba)
        stats = measure_colour_stats(rgb, mask)
        emotion = nearest_emotion(stats, PORTRAIT_EMOTIONS)
        look = _look(stats, dominant_colours(rgb, mask, seed=index), describe_subject(path))
        rng = np.random.default_rng([config.seed, 11, index])
        slug = re.sub(r"[^a-z0-9]+", "-", unit.lower()).strip("-")
        image_path = out_dir / f"{slug}.png"
        cv2.imwrite(str(image_path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        store.add(unit, [{
            "id": f"wesnoth-{slug}-c{k + 1}",
            "image_path": image_path.relative_to(config.out).as_posix(),
            "comment": text,
            "emotion": emotion,
            "source": SOURCE,
            "licence": LICENCE,
            "held_out": False,
            "measured": stats.to_dict(),
        } for k, text in enumerate(comments(look, emotion, config.painterly_comments, rng,
                                                   PORTRAIT_TEMPLATES))])
    return store.rows(units)
