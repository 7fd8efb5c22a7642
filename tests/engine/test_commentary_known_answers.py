"""Known answers for engine/commentary.py: literal vocabularies and feature values (binary
fractions, so each threshold can be hit exactly), literal words and sentences out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.commentary import (
    Commentary,
    Looks,
    SubjectWord,
    Vocabulary,
    _join,
    _light,
    build_commentary,
    commentary_text,
    raw_features,
    read_looks,
    read_subjects,
)
from engine.errors import BundleError

LOOKS = {"light": [[0.25, "deep shadow"], [0.5, "dim light"], [0.75, "soft light"], [0.875, "bright light"]],
         "strong_contrast": 0.75, "gentle_contrast": 0.25, "warm": 0.75, "cool": 0.25,
         "vivid_colourfulness": 0.75, "muted_saturation": 0.25, "muted_colourfulness": 0.25,
         "rich_saturation": 0.625, "grey_saturation": 0.125, "hue_min_share": 0.25, "max_hues": 2,
         "dark_luminance": 0.25, "busy_edges": 0.75, "calm_edges": 0.25,
         "hues": ["red", "orange", "yellow", "lime", "green", "teal", "cyan", "azure", "blue",
                  "violet", "magenta", "rose"],
         "dark_hues": ["maroon", "brown", "olive", "moss", "forest", "deep teal", "slate", "navy",
                       "indigo", "plum", "wine", "umber"]}
VOCAB = {"name": "words", "version": 7, "class_names": ["a", "b", "c", "d", "e"],
         "subjects": {"words": [{"phrase": "cliffs", "classes": [0, 1]},
                                {"phrase": "a boat", "classes": ["2"]},
                                {"phrase": "an altar", "classes": [3]},
                                {"phrase": "ghosts", "classes": [9, -1]},
                                {"phrase": "a tower", "classes": [4]}],
                      "min_probability": 0.25, "min_class_probability": 0.125, "max_words": 2},
         "looks": LOOKS}


def _features(**values) -> dict[str, float]:
    """Neutral features (no look word) with `values` replaced."""
    neutral = {"luminance_mean": 0.9, "contrast": 0.5, "saturation_mean": 0.5, "colourfulness": 0.5,
               "warmth": 0.5, "edge_density": 0.5, **{f"hue_{30 * i}": 0.0 for i in range(12)}}
    neutral.update({k.replace("hue", "hue_") if k.startswith("hue") and "_" not in k else k: v
                    for k, v in values.items()})
    return neutral


def test_vocabulary_from_literal_dict_and_defaults(tmp_path):
    v = Vocabulary.from_dict(VOCAB)
    assert v.version == "words:v7"
    assert v.subjects == (SubjectWord("cliffs", (0, 1)), SubjectWord("a boat", (2,)),
                          SubjectWord("an altar", (3,)),
                          SubjectWord("ghosts", (9, -1)), SubjectWord("a tower", (4,)))
    assert (v.min_probability, v.min_class_probability, v.max_words, v.class_count) == (0.25, 0.125, 2, 5)
    assert v.looks == LOOKS
    d = Vocabulary.from_dict({})
    assert d == Vocabulary("painting-words:v1", (), 0.08, 0.05, 2, {}, 0)
    path = tmp_path / "commentary.json"
    path.write_text(json.dumps(VOCAB), encoding="utf-8")
    assert Vocabulary.load(path) == v
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError):
        Vocabulary.load(path)
    with pytest.raises(BundleError):
        Vocabulary.load(tmp_path / "missing.json")
    path.write_text(json.dumps({"subjects": {"words": [{"phrase": "x"}]}}), encoding="utf-8")
    with pytest.raises(BundleError):
        Vocabulary.load(path)


def test_read_subjects_sums_classes_and_keeps_the_confident_ones():
    v = Vocabulary.from_dict(VOCAB)
    # cliffs 0.125 + 0.125 = 0.25 (both thresholds met exactly), boat 0.5, altar 0.25 − but max_words 2
    probabilities = np.array([[0.125, 0.125, 0.5, 0.25, 0.0]])
    assert read_subjects(probabilities, v) == [("a boat", 0.5), ("cliffs", 0.25)]
    # below min_probability (0.25) or a best class below min_class_probability (0.125)
    assert read_subjects([0.0625, 0.125, 0.0, 0.0, 0.0], v) == []
    assert read_subjects([0.2, 0.0, 0.0, 0.0, 0.0], v) == []
    strict = Vocabulary.from_dict({**VOCAB, "subjects": {**VOCAB["subjects"],
                                                         "min_class_probability": 0.1875}})
    assert read_subjects([0.125, 0.125, 0.0, 0.0, 0.0], strict) == []  # a diffuse pair says nothing
    assert read_subjects([0.1875, 0.0625, 0.0, 0.0, 0.0], strict) == [("cliffs", 0.25)]
    many = Vocabulary.from_dict({**VOCAB, "subjects": {**VOCAB["subjects"], "max_words": 5}})
    # class 0 present, out-of-range classes (9, −1) ignored; a word with no valid class is skipped
    got = read_subjects([0.5, 0.0, 0.25, 0.0, 0.375], many)
    assert got == [("cliffs", 0.5), ("a tower", 0.375), ("a boat", 0.25)]
    assert read_subjects([0.0, 0.0, 0.0, 0.0, 0.75], many) == [("a tower", 0.75)]
    short = read_subjects([0.5], many)  # only class 0 exists in a 1-class output
    assert short == [("cliffs", 0.5)]
    assert all(type(p) is float for _, p in got)


def test_light_steps():
    steps = LOOKS["light"]
    assert _light(0.0, steps) == "deep shadow"
    assert _light(0.25, steps) == "dim light"  # the bound itself belongs to the next step
    assert _light(0.74, steps) == "soft light"
    assert _light(0.875, steps) == "bright light"  # beyond the last bound: the last word
    assert _light(0.99, [[0.5, "a"], [0.6, 7]]) == "7"
    assert _light(0.1, [[0.5, 3]]) == "3"
    assert _light(0.5, []) == ""


def test_read_looks_thresholds_are_strict():
    assert read_looks(_features(), LOOKS) == Looks("bright light", "", "", "", (), "")
    for at_bound in (0.75, 0.25):
        looks = read_looks(_features(contrast=at_bound, warmth=at_bound, edge_density=at_bound), LOOKS)
        assert looks.words() == ("bright light",)
    looks = read_looks(_features(contrast=0.875, warmth=0.875, edge_density=0.875), LOOKS)
    assert (looks.contrast, looks.warmth, looks.busyness) == ("strong contrasts", "warm", "busy with detail")
    looks = read_looks(_features(contrast=0.125, warmth=0.125, edge_density=0.125), LOOKS)
    assert (looks.contrast, looks.warmth, looks.busyness) == ("gentle contrasts", "cool", "calm and spacious")


def test_read_looks_saturation_words():
    def word(**values):
        return read_looks(_features(**values), LOOKS).saturation

    assert word(colourfulness=0.875) == "vivid"
    assert word(colourfulness=0.75) == ""
    assert word(saturation_mean=0.1875, colourfulness=0.125) == "muted"
    assert word(saturation_mean=0.25, colourfulness=0.125) == ""
    assert word(saturation_mean=0.1875, colourfulness=0.25) == ""
    assert word(saturation_mean=0.1875, colourfulness=0.5) == ""
    assert word(saturation_mean=0.75) == "rich"
    assert word(saturation_mean=0.625) == ""
    assert word(saturation_mean=0.75, colourfulness=0.875) == "vivid"


def test_read_looks_palette():
    def palette(**values):
        return read_looks(_features(**values), LOOKS).palette

    assert palette(saturation_mean=0.0625, hue0=0.5) == ("grey",)
    assert palette(saturation_mean=0.125) == ()  # at the grey bound: hues, none with a share
    # most shared first, ties in hue order, at most max_hues, only shares ≥ hue_min_share
    assert palette(hue0=0.25, hue30=0.125, hue60=0.5, hue90=0.25) == ("yellow", "red")
    assert palette(hue330=0.25, hue300=0.25, hue270=0.3) == ("violet", "magenta")
    assert palette(hue240=0.25) == ("blue",)
    assert palette(hue240=0.24) == ()
    assert palette(luminance_mean=0.125, hue0=0.5, hue210=0.375) == ("maroon", "navy")
    assert palette(luminance_mean=0.25, hue0=0.5) == ("red",)
    assert palette(luminance_mean=0.125) == ()
    assert read_looks(_features(luminance_mean=0.125, hue0=0.5), LOOKS) == \
        Looks("deep shadow", "", "", "", ("maroon",), "")
    same_name = {**LOOKS, "hues": ["red"] * 12}
    assert read_looks(_features(hue0=0.5, hue30=0.25), same_name).palette == ("red",)
    no_light = {k: v for k, v in LOOKS.items() if k != "light"}
    assert read_looks(_features(), no_light).light == ""


def test_join_and_sentences():
    assert _join([]) == ""
    assert _join(["a"]) == "a"
    assert _join(["a", "b"]) == "a and b"
    assert _join(("a", "b", "c")) == "a, b and c"
    assert commentary_text([], Looks()) == "A painting."
    assert commentary_text(["cliffs"], Looks()) == "A painting of cliffs."
    full = Looks("soft light", "strong contrasts", "warm", "rich", ("ochre", "gold"), "busy with detail")
    assert commentary_text(["cliffs", "a boat"], full) == \
        ("A painting of cliffs and a boat in soft light, with warm rich colours of ochre and gold, "
         "strong contrasts; busy with detail.")
    assert commentary_text([], Looks(warmth="cool")) == "A painting, with cool colours."
    assert commentary_text([], Looks(saturation="muted")) == "A painting, with muted colours."
    assert commentary_text([], Looks(palette=("grey",))) == "A painting, with colours of grey."
    assert commentary_text([], Looks(contrast="gentle contrasts")) == "A painting, gentle contrasts."
    assert commentary_text([], Looks(busyness="calm and spacious")) == "A painting; calm and spacious."
    assert Looks("a", "b", "c", "d", ("e", "f"), "g").words() == ("a", "b", "c", "d", "e", "f", "g")
    assert Looks(contrast="b", palette=("e",)).words() == ("b", "e")


def test_build_commentary_from_either_output():
    v = Vocabulary.from_dict(VOCAB)
    probabilities = np.array([0.0, 0.0, 0.5, 0.0, 0.0])
    only_subjects = build_commentary(v, probabilities)
    assert only_subjects == Commentary((("a boat", 0.5),), Looks(), "A painting of a boat.")
    features = _features(warmth=0.875, hue0=0.5)
    only_looks = build_commentary(v, None, features)
    assert only_looks == Commentary((), Looks("bright light", "", "warm", "", ("red",), ""),
                                    "A painting in bright light, with warm colours of red.")
    both = build_commentary(v, probabilities, features)
    assert both.text == "A painting of a boat in bright light, with warm colours of red."
    assert both.subjects == (("a boat", 0.5),) and both.looks.palette == ("red",)
    assert build_commentary(v) == Commentary()
    assert build_commentary(v, np.zeros(5), _features()).text == "A painting in bright light."
    silent = {**LOOKS, "light": []}
    quiet = Vocabulary.from_dict({**VOCAB, "looks": silent})
    assert build_commentary(quiet, np.zeros(5), _features()) == Commentary()
    assert Commentary() == Commentary((), Looks(), "")


def test_raw_features_map_minus_one_one_to_zero_one():
    got = raw_features(np.array([[-1.0, 0.0, 0.5, 1.0]]), ["a", "b", "c"])
    assert got == {"a": 0.0, "b": 0.5, "c": 0.75}
    assert all(type(v) is float for v in got.values())
    assert raw_features([0.5, -0.5], ("x", "y")) == {"x": 0.75, "y": 0.25}
    with pytest.raises(BundleError):
        raw_features(np.zeros(2), ["a", "b", "c"])
