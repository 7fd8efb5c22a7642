"""Known answers for the bundle's commentary vocabulary (export/commentary.py), by hand."""

from __future__ import annotations

import json

import pytest

from engine.manifest import CommentarySpec
from export.commentary import DEFAULT_WORDS, VOCABULARY_FILE, commentary_part, resolve_words
from export.errors import ExportError

CLASSES = ("cat", "dog", "boat", "tree", "sky")


def _words(*words: dict, **extra) -> dict:
    return {"subjects": {"words": list(words), "threshold": 0.2}, **extra}


def test_names_and_ranges_become_sorted_unique_indices() -> None:
    words = _words({"phrase": "animals", "classes": ["dog", "cat", "dog"]},
                   {"phrase": "outside", "classes": ["sky"], "class_index_ranges": [[2, 3]]},
                   {"phrase": "edges", "class_index_ranges": [[0, 0], [4, 4]]},
                   {"phrase": "nothing"})
    got = resolve_words(words, CLASSES)
    assert got["subjects"]["words"] == [
        {"phrase": "animals", "classes": [0, 1]},
        {"phrase": "outside", "classes": [2, 3, 4]},
        {"phrase": "edges", "classes": [0, 4]},
        {"phrase": "nothing", "classes": []},
    ]
    assert got["subjects"]["threshold"] == 0.2
    assert got["class_names"] == ["cat", "dog", "boat", "tree", "sky"]
    assert isinstance(got["class_names"], list)


def test_the_input_is_not_modified() -> None:
    words = _words({"phrase": "animals", "classes": ["dog"]})
    before = json.dumps(words, sort_keys=True)
    resolve_words(words, CLASSES)
    assert json.dumps(words, sort_keys=True) == before


def test_ranges_given_as_strings_are_integers() -> None:
    got = resolve_words(_words({"phrase": "p", "class_index_ranges": [["1", "2"]]}), CLASSES)
    assert got["subjects"]["words"] == [{"phrase": "p", "classes": [1, 2]}]


@pytest.mark.parametrize("classes", [None, ()])
def test_no_classifier_drops_subject_words(classes) -> None:
    got = resolve_words(_words({"phrase": "animals", "classes": ["nope"]}, looks={"a": 1}), classes)
    assert got["subjects"] == {"words": [], "threshold": 0.2}
    assert got["class_names"] == []
    assert got["looks"] == {"a": 1}


@pytest.mark.parametrize("classes", [None, CLASSES])
def test_a_map_without_subjects_gets_an_empty_subjects_entry(classes) -> None:
    got = resolve_words({"looks": {}}, classes)
    assert got["subjects"] == {"words": []}
    assert got["class_names"] == ([] if classes is None else list(CLASSES))


def test_subjects_without_words_resolve_to_none() -> None:
    assert resolve_words({"subjects": {}}, CLASSES)["subjects"] == {"words": []}


def test_unknown_class_name_is_an_error() -> None:
    with pytest.raises(ExportError):
        resolve_words(_words({"phrase": "p", "classes": ["whale"]}), CLASSES)


@pytest.mark.parametrize("low, high", [(-1, 0), (3, 2), (0, 5), (5, 5)])
def test_ranges_outside_the_classes_are_an_error(low, high) -> None:
    with pytest.raises(ExportError):
        resolve_words(_words({"phrase": "p", "class_index_ranges": [[low, high]]}), CLASSES)


@pytest.mark.parametrize("low, high, expected", [(0, 0, [0]), (4, 4, [4]), (0, 4, [0, 1, 2, 3, 4])])
def test_ranges_at_the_edges_are_accepted(low, high, expected) -> None:
    got = resolve_words(_words({"phrase": "p", "class_index_ranges": [[low, high]]}), CLASSES)
    assert got["subjects"]["words"][0]["classes"] == expected


class _Classifier:
    class_output = "class_probabilities"

    def class_names(self):
        return list(CLASSES)


class _Colour:
    colour_output = "colour_features"
    colour_feature_names = ["warmth", "light"]
    colour_feature_version = "perceptual:v1"


class _Both(_Classifier, _Colour):
    pass


def test_no_outputs_no_commentary(tmp_path) -> None:
    missing = tmp_path / "missing.json"  # never read: an encoder without outputs has no commentary
    assert commentary_part(object(), missing) is None


def test_classifier_spec_and_vocabulary(tmp_path) -> None:
    path = tmp_path / "words.json"
    path.write_text(json.dumps(_words({"phrase": "pets", "classes": ["cat", "dog"]})), encoding="utf-8")
    spec, vocabulary = commentary_part(_Classifier(), path)
    assert spec == CommentarySpec(graph="image_encoder", vocabulary="commentary.json",
                                  class_output="class_probabilities", colour_output=None,
                                  colour_features=(), colour_version="")
    assert VOCABULARY_FILE == "commentary.json"
    assert vocabulary["subjects"]["words"] == [{"phrase": "pets", "classes": [0, 1]}]
    assert vocabulary["class_names"] == list(CLASSES)
    assert vocabulary["source"] == "words.json"


def test_colour_only_spec_drops_subjects(tmp_path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps(_words({"phrase": "pets", "classes": ["cat"]})), encoding="utf-8")
    spec, vocabulary = commentary_part(_Colour(), path)
    assert spec == CommentarySpec("image_encoder", "commentary.json", None, "colour_features",
                                  ("warmth", "light"), "perceptual:v1")
    assert isinstance(spec.colour_features, tuple)
    assert vocabulary["subjects"]["words"] == []
    assert vocabulary["class_names"] == []
    assert vocabulary["source"] == "w.json"


def test_both_outputs(tmp_path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps(_words({"phrase": "sky", "classes": ["sky"]})), encoding="utf-8")
    spec, vocabulary = commentary_part(_Both(), path)
    assert (spec.class_output, spec.colour_output) == ("class_probabilities", "colour_features")
    assert spec.colour_features == ("warmth", "light")
    assert vocabulary["subjects"]["words"] == [{"phrase": "sky", "classes": [4]}]


def test_colour_encoder_without_names_gets_empty_defaults(tmp_path) -> None:
    class Bare:
        colour_output = "image_embedding"
        colour_feature_names = None

    path = tmp_path / "w.json"
    path.write_text("{}", encoding="utf-8")
    spec, _ = commentary_part(Bare(), path)
    assert spec.colour_features == ()
    assert spec.colour_version == ""


def test_default_word_map_is_the_shipped_file() -> None:
    spec, vocabulary = commentary_part(_Colour())
    assert vocabulary["source"] == "painting_words.v1.json"
    assert DEFAULT_WORDS.name == "painting_words.v1.json"
    shipped = json.loads(DEFAULT_WORDS.read_text(encoding="utf-8"))
    assert set(shipped) <= set(vocabulary)
    assert spec.vocabulary == "commentary.json"


@pytest.mark.parametrize("text", [None, "{not json"])
def test_unreadable_word_map_is_an_export_error(tmp_path, text) -> None:
    path = tmp_path / "w.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ExportError):
        commentary_part(_Classifier(), path)
