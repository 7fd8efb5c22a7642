"""Generated paintings look like their parameters say, and their comments say so too."""

from __future__ import annotations

import numpy as np
import pytest

from core.prompt import ARTEMIS_EMOTIONS
from training.corpora.painterly import PainterlyParams, measure_colour_stats, render_painting
from training.corpora.painting_comments import TEMPLATES, Look, colour_name, comments
from training.corpora.painting_presets import PRESETS, sample_painting

BASE = dict(brightness=0.55, saturation=0.6, contrast=0.4, dynamism=0.3, width=160, height=120)


def _measured(seeds=range(3), **overrides) -> dict[str, float]:
    values = {**BASE, "warmth": 0.0, **overrides}
    stats = [measure_colour_stats(render_painting(PainterlyParams(**values, seed=s)))
             for s in seeds]
    return {k: float(np.mean([getattr(s, k) for s in stats])) for k in stats[0].to_dict()}


def test_measured_warmth_follows_the_warmth_parameter():
    cold, neutral, warm = (_measured(warmth=w)["warmth"] for w in (-0.9, 0.0, 0.9))
    assert cold < neutral < warm
    assert cold < -0.1 and warm > 0.1


def test_measured_brightness_follows_the_brightness_parameter():
    dark, mid, bright = (_measured(brightness=b)["brightness"] for b in (0.15, 0.5, 0.85))
    assert dark < mid < bright
    assert bright - dark > 0.4


def test_dynamic_strokes_measure_as_more_dynamic_than_calm_ones():
    assert _measured(dynamism=0.0)["dynamism"] + 0.2 < _measured(dynamism=1.0)["dynamism"]


def test_rendering_is_deterministic_and_sized():
    params = PainterlyParams(warmth=0.3, **BASE, seed=7)
    first, second = render_painting(params), render_painting(params)
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8
    assert np.array_equal(first, second)


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValueError, match="warmth"):
        PainterlyParams(warmth=2.0, **BASE)


def test_presets_cover_the_artemis_emotions_and_stay_in_range():
    assert set(PRESETS) == set(ARTEMIS_EMOTIONS) == set(TEMPLATES)
    rng = np.random.default_rng(0)
    for emotion, preset in PRESETS.items():
        params = sample_painting(emotion, rng, seed=0)
        assert preset.brightness[0] <= params.brightness <= preset.brightness[1]
        assert params.composition in preset.compositions


def test_comments_describe_the_parameters():
    look = Look(warmth=-0.8, brightness=0.15, saturation=0.2, contrast=0.2, dynamism=0.1,
                colours=("deep blue",), scene="landscape")
    texts = comments(look, "sadness", 2, np.random.default_rng(0))
    assert len(texts) == 2 and len(set(texts)) == 2
    joined = " ".join(texts)
    assert "bright" not in joined and "warm" not in joined
    assert "sad" in joined


@pytest.mark.parametrize(("hsv", "name"), [((0, 0.9, 0.9), "vivid red"),
                                           ((220, 0.6, 0.3), "deep blue"),
                                           ((30, 0.05, 0.95), "white"),
                                           ((120, 0.3, 0.6), "muted green")])
def test_colour_names(hsv, name):
    assert colour_name(*hsv) == name
