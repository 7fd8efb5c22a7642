"""The art commentary's part of a bundle: ``commentary.json`` and the manifest's CommentarySpec.

The curated word map (``assets/data/painting_words.v1.json``) names classifier classes; the
bundle copy has them resolved to indices of the image graph's class output (and keeps the class
names for reading by hand), so the engine needs neither torchvision nor the class list.
Encoders describe what they offer with attributes:

* ``class_output`` (graph output name) and ``class_names()`` — a classifier (EfficientNet's
  ImageNet head);
* ``colour_output`` (graph output name, may be ``image_embedding``), ``colour_feature_names``
  and ``colour_feature_version`` — perceptual:v1 colour/light features.

An encoder with neither (open_clip) gets no commentary; its bundle is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from engine.manifest import IMAGE_ENCODER, CommentarySpec
from export.errors import ExportError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORDS = REPO_ROOT / "assets" / "data" / "painting_words.v1.json"
VOCABULARY_FILE = "commentary.json"


def resolve_words(words: dict, class_names: Sequence[str] | None) -> dict:
    """The bundle vocabulary: `words` with every subject's classes as indices into
    `class_names` (subjects dropped when there is no classifier). Unknown names are an error."""
    values = json.loads(json.dumps(words))
    subjects = values.setdefault("subjects", {})
    if not class_names:
        subjects["words"] = []
        values["class_names"] = []
        return values
    index = {name: i for i, name in enumerate(class_names)}
    resolved = []
    for word in subjects.get("words", []):
        classes: list[int] = []
        for name in word.get("classes", []):
            if name not in index:
                raise ExportError(f"commentary word {word['phrase']!r} names class {name!r}, "
                                  "which the classifier does not have; fix the word map.")
            classes.append(index[name])
        for low, high in word.get("class_index_ranges", []):
            if not 0 <= int(low) <= int(high) < len(class_names):
                raise ExportError(f"commentary word {word['phrase']!r} has class range "
                                  f"{low}–{high} outside 0–{len(class_names) - 1}; fix the map.")
            classes.extend(range(int(low), int(high) + 1))
        resolved.append({"phrase": word["phrase"], "classes": sorted(set(classes))})
    subjects["words"] = resolved
    values["class_names"] = list(class_names)
    return values


def commentary_part(encoder, words_file: Path | None = None) -> tuple[CommentarySpec, dict] | None:
    """(manifest spec, bundle vocabulary) for an image encoder, or None when it offers no
    classifier and no colour features."""
    class_output = getattr(encoder, "class_output", None)
    colour_output = getattr(encoder, "colour_output", None)
    if class_output is None and colour_output is None:
        return None
    path = Path(words_file or DEFAULT_WORDS)
    try:
        words = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ExportError(f"commentary word map {path} is unreadable ({error}); pass a valid "
                          "--commentary-words file.") from error
    class_names = tuple(encoder.class_names()) if class_output else None
    vocabulary = resolve_words(words, class_names)
    vocabulary["source"] = path.name
    spec = CommentarySpec(
        graph=IMAGE_ENCODER, vocabulary=VOCABULARY_FILE, class_output=class_output,
        colour_output=colour_output,
        colour_features=tuple(getattr(encoder, "colour_feature_names", ()) or ()),
        colour_version=str(getattr(encoder, "colour_feature_version", "")))
    return spec, vocabulary
