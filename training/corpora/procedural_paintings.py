"""Stage: painterly images rendered from known parameters, balanced over ArtEmis emotions."""

from __future__ import annotations

import cv2
import numpy as np
from tqdm import tqdm

from core.prompt import ARTEMIS_EMOTIONS
from training.corpora.config import CorporaConfig
from training.corpora.painterly import measure_colour_stats, palette, render_painting
from training.corpora.painting_comments import SCENES, Look, comments, names_from_hsv
from training.corpora.painting_presets import sample_painting
from training.corpora.stages import StageStore

SOURCE = "procedural-painterly"
LICENCE = "CC0-1.0 (generated here)"
JPEG_QUALITY = 92


def build_painterly(config: CorporaConfig) -> list[dict]:
    """Renders `config.painterly_images` images with `config.painterly_comments` comments each."""
    store = StageStore(config.stages_dir / "painterly.jsonl")
    out_dir = config.paintings_dir / "painterly"
    out_dir.mkdir(parents=True, exist_ok=True)
    units = [f"painterly-{i:05d}" for i in range(config.painterly_images)]
    for index, unit in enumerate(tqdm(units, desc="painterly images", unit="img")):
        if store.done(unit):
            continue
        emotion = ARTEMIS_EMOTIONS[index % len(ARTEMIS_EMOTIONS)]
        rng = np.random.default_rng([config.seed, 7, index])
        params = sample_painting(emotion, rng, seed=config.seed * 1_000_003 + index)
        rgb = render_painting(params)
        image_path = out_dir / f"{unit}.jpg"
        cv2.imwrite(str(image_path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        colours = names_from_hsv(palette(params, np.random.default_rng(params.seed)))
        look = Look(params.warmth, params.brightness, params.saturation, params.contrast,
                    params.dynamism, colours, SCENES[params.composition])
        texts = comments(look, emotion, config.painterly_comments, rng)
        measured = measure_colour_stats(rgb).to_dict()
        store.add(unit, [{
            "id": f"{unit}-c{k + 1}",
            "image_path": image_path.relative_to(config.out).as_posix(),
            "comment": text,
            "emotion": emotion,
            "source": SOURCE,
            "licence": LICENCE,
            "held_out": False,
            "params": params.to_dict(),
            "measured": measured,
        } for k, text in enumerate(texts)])
    return store.rows(units)
