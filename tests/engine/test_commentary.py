"""The art commentary and the prompt rules, from hand-made classifier outputs and colour features.

Numpy only, like the engine: the vocabulary is written here in the bundle's resolved form
(class indices), with the look thresholds of the shipped word map.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.commentary import (
    Looks,
    Vocabulary,
    build_commentary,
    commentary_text,
    raw_features,
    read_looks,
    read_subjects,
)
from engine.reading import PROMPT_FEELINGS, Reading, art_commentary, prompt_feelings

WORD_MAP = Path(__file__).resolve().parents[2] / "assets" / "data" / "painting_words.v1.json"
SEA, CLIFF, CHURCH, ALTAR, PUZZLE = 0, 1, 2, 3, 4
DOGS = list(range(10, 60))


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    shipped = json.loads(WORD_MAP.read_text(encoding="utf-8"))
    return Vocabulary.from_dict({
        "name": "painting-words", "version": 1,
        "subjects": {"min_probability": 0.08, "min_class_probability": 0.05, "max_words": 2,
                     "words": [{"phrase": "the sea", "classes": [SEA]},
                               {"phrase": "cliffs", "classes": [CLIFF]},
                               {"phrase": "a church", "classes": [CHURCH]},
                               {"phrase": "an altar", "classes": [ALTAR]},
                               {"phrase": "a dog", "classes": DOGS}]},
        "looks": shipped["looks"]})


def probabilities(**values: float) -> np.ndarray:
    vector = np.zeros(100, np.float32)
    for name, value in values.items():
        vector[globals()[name.upper()]] = value
    rest = 1.0 - vector.sum()
    vector[60:] += rest / 40  # the remainder spread over classes without words
    return vector


def test_confident_whitelisted_classes_become_words_most_probable_first(vocabulary):
    found = read_subjects(probabilities(sea=0.2, cliff=0.45, puzzle=0.3), vocabulary)
    assert [phrase for phrase, _ in found] == ["cliffs", "the sea"]
    assert found[0][1] == pytest.approx(0.45)


def test_unlisted_and_unsure_classes_say_nothing(vocabulary):
    assert read_subjects(probabilities(puzzle=0.9), vocabulary) == []  # not a painting word
    assert read_subjects(probabilities(church=0.07), vocabulary) == []  # below 0.08
    assert read_subjects(probabilities(sea=0.3, cliff=0.3, church=0.2, altar=0.1),
                         vocabulary)[-1][0] == "cliffs"  # at most two words


def test_a_diffuse_distribution_over_a_big_group_is_not_a_word(vocabulary):
    diffuse = np.zeros(100, np.float32)
    diffuse[DOGS] = 0.5 / len(DOGS)  # 0.5 in total, but no single dog class is likely
    diffuse[60:] = 0.5 / 40
    assert read_subjects(diffuse, vocabulary) == []
    diffuse[DOGS[3]] += 0.1
    assert read_subjects(diffuse / diffuse.sum(), vocabulary)[0][0] == "a dog"


def features(**raw: float) -> dict[str, float]:
    values = {"luminance_mean": 0.5, "contrast": 0.4, "warmth": 0.56, "saturation_mean": 0.4,
              "colourfulness": 0.22, "edge_density": 0.4}
    values.update({f"hue_{i * 30}": 0.0 for i in range(12)})
    values.update(raw)
    return values


def test_look_words_follow_light_warmth_palette_and_busyness(vocabulary):
    looks = read_looks(features(luminance_mean=0.25, contrast=0.6, warmth=0.62, saturation_mean=0.55,
                                hue_30=0.5, hue_0=0.25, hue_210=0.1, edge_density=0.7),
                       vocabulary.looks)
    assert looks == Looks("deep shadow", "strong contrasts", "warm", "rich", ("brown", "deep red"),
                          "busy with detail")
    bright = read_looks(features(luminance_mean=0.75, warmth=0.5, colourfulness=0.35,
                                 hue_210=0.4, hue_240=0.3, edge_density=0.2), vocabulary.looks)
    assert bright == Looks("bright light", "", "cool", "vivid", ("sky blue", "blue"),
                           "calm and spacious")
    grey = read_looks(features(saturation_mean=0.05, colourfulness=0.05), vocabulary.looks)
    assert grey.palette == ("grey",) and grey.saturation == "muted"


def test_the_sentence_names_subjects_then_looks():
    looks = Looks("soft light", "", "warm", "", ("ochre", "gold"), "busy with detail")
    assert commentary_text(["cliffs", "the sea"], looks) == (
        "A painting of cliffs and the sea in soft light, with warm colours of ochre and gold; "
        "busy with detail.")
    assert commentary_text([], Looks(light="dim light")) == "A painting in dim light."


def test_build_commentary_from_both_outputs(vocabulary):
    graph_features = np.full(3, -1.0, np.float32)  # as the graph gives them: [-1, 1]
    names = ("luminance_mean", "contrast", "warmth")
    assert raw_features(graph_features, names) == {name: 0.0 for name in names}
    commentary = build_commentary(vocabulary, probabilities(altar=0.3, church=0.2),
                                  features(luminance_mean=0.35, hue_60=0.4, warmth=0.6))
    assert commentary.text == ("A painting of an altar and a church in dim light, with warm "
                               "colours of olive.")
    assert [p for p, _ in commentary.subjects] == ["an altar", "a church"]
    assert build_commentary(vocabulary).text == ""


def test_the_prompt_carries_the_chosen_feelings_else_the_top_predicted_one():
    predicted = [("awe", 0.5), ("sadness", 0.3), ("fear", 0.2)]
    assert PROMPT_FEELINGS == 1
    assert prompt_feelings(predicted) == ("awe",)
    assert prompt_feelings(predicted, ["fear", "anger"]) == ("fear", "anger")
    assert prompt_feelings(predicted, []) == ()
    reading = Reading(np.zeros(3, np.float32), tuple(predicted))
    assert reading.top_feelings() == ("awe",) and reading.text == ""


def test_a_comment_joins_or_replaces_the_commentary():
    commentary = "A painting of the sea in soft light."
    assert art_commentary("", commentary) == commentary
    assert art_commentary("It makes me calm", commentary) == (
        "It makes me calm. A painting of the sea in soft light.")
    assert art_commentary("So calm!", commentary) == "So calm! A painting of the sea in soft light."
    assert art_commentary("It makes me calm", commentary, "replace") == "It makes me calm"
    assert art_commentary("  ", "") == ""
    with pytest.raises(ValueError, match="join, replace"):
        art_commentary("x", commentary, "mix")
