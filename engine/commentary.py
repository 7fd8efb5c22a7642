"""The kiosk's art commentary: what a painting shows and how it looks, in plain words (numpy only).

When a visitor says nothing, this sentence fills the "Art Commentary" of the composite prompt
(Sec. III.A.3 of Art2Music; Hisariya et al. caption the image for the same role). It is built
from two outputs of the bundle's image graph, read through a curated vocabulary
(``commentary.json`` in the bundle, written by the exporter from
``assets/data/painting_words.v1.json``):

* **subjects**: ImageNet class probabilities summed into a whitelist of painting-friendly
  phrases ("cliffs", "an altar", "sailing boats"); a phrase is said only when its summed
  probability and its best class are both confident enough, at most ``max_words`` of them;
* **looks**: light, contrast, warmth, saturation, palette and busyness words from the
  perceptual:v1 colour/light features (raw values in [0, 1], thresholds in the vocabulary).

Example: "A painting of cliffs in soft light, with warm colours of ochre and gold; busy with
detail." The light phrases ("deep shadow", "dim light", …) come from the vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import BundleError

HUE_BINS = 12


@dataclass(frozen=True)
class SubjectWord:
    """One phrase and the classifier classes whose probabilities it sums."""

    phrase: str
    classes: tuple[int, ...]


@dataclass(frozen=True)
class Vocabulary:
    """The bundle's ``commentary.json``: subject phrases over class indices, look thresholds."""

    version: str
    subjects: tuple[SubjectWord, ...]
    min_probability: float
    min_class_probability: float
    max_words: int
    looks: Mapping[str, object]
    class_count: int = 0

    @classmethod
    def from_dict(cls, values: dict) -> Vocabulary:
        subjects = values.get("subjects", {})
        return cls(
            version=f"{values.get('name', 'painting-words')}:v{values.get('version', 1)}",
            subjects=tuple(SubjectWord(w["phrase"], tuple(int(c) for c in w["classes"]))
                           for w in subjects.get("words", ())),
            min_probability=float(subjects.get("min_probability", 0.08)),
            min_class_probability=float(subjects.get("min_class_probability", 0.05)),
            max_words=int(subjects.get("max_words", 2)),
            looks=dict(values.get("looks", {})),
            class_count=len(values.get("class_names", ())),
        )

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BundleError(f"commentary vocabulary {path} is unreadable ({error}); re-export "
                              "the bundle with `main.py export`.") from error


@dataclass(frozen=True)
class Looks:
    """How a painting looks, one word or phrase per aspect ("" when nothing stands out)."""

    light: str = ""
    contrast: str = ""
    warmth: str = ""
    saturation: str = ""
    palette: tuple[str, ...] = ()
    busyness: str = ""

    def words(self) -> tuple[str, ...]:
        """Every word said, in reading order."""
        parts = (self.light, self.contrast, self.warmth,
                 self.saturation, *self.palette, self.busyness)
        return tuple(p for p in parts if p)


@dataclass(frozen=True)
class Commentary:
    """The reading of one painting: subjects with their probabilities, looks, and the sentence."""

    subjects: tuple[tuple[str, float], ...] = ()
    looks: Looks = field(default_factory=Looks)
    text: str = ""


def read_subjects(probabilities: np.ndarray, vocabulary: Vocabulary) -> list[tuple[str, float]]:
    """Phrases whose summed class probability ≥ ``min_probability`` and whose best class ≥
    ``min_class_probability`` (so a diffuse distribution over many classes says nothing),
    most probable first, at most ``max_words``."""
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    found = []
    for word in vocabulary.subjects:
        classes = [c for c in word.classes if 0 <= c < probabilities.size]
        if not classes:
            continue
        values = probabilities[classes]
        total, best = float(values.sum()), float(values.max())
        if total >= vocabulary.min_probability and best >= vocabulary.min_class_probability:
            found.append((word.phrase, total))
    found.sort(key=lambda item: -item[1])
    return found[: vocabulary.max_words]


def _light(luminance: float, steps: Sequence[Sequence]) -> str:
    for bound, word in steps:
        if luminance < float(bound):
            return str(word)
    return str(steps[-1][1]) if steps else ""


def read_looks(features: Mapping[str, float], looks: Mapping[str, object]) -> Looks:
    """Look words from raw perceptual:v1 features (values in [0, 1], keyed by feature name)."""
    t = {key: value for key, value in looks.items()}
    luminance = features["luminance_mean"]
    contrast = features["contrast"]
    saturation = features["saturation_mean"]
    colourfulness = features["colourfulness"]
    light = _light(luminance, t.get("light", ()))
    contrast_word = ("strong contrasts" if contrast > float(t["strong_contrast"]) else
                     "gentle contrasts" if contrast < float(t["gentle_contrast"]) else "")
    warmth = ("warm" if features["warmth"] > float(t["warm"]) else
              "cool" if features["warmth"] < float(t["cool"]) else "")
    if colourfulness > float(t["vivid_colourfulness"]):
        saturation_word = "vivid"
    elif saturation < float(t["muted_saturation"]) and colourfulness < float(t["muted_colourfulness"]):
        saturation_word = "muted"
    elif saturation > float(t["rich_saturation"]):
        saturation_word = "rich"
    else:
        saturation_word = ""
    if saturation < float(t["grey_saturation"]):
        palette: tuple[str, ...] = ("grey",)
    else:
        shares = np.array([features[f"hue_{i * 30}"] for i in range(HUE_BINS)])
        order = [int(i) for i in np.argsort(-shares, kind="stable")
                 if shares[i] >= float(t["hue_min_share"])][: int(t["max_hues"])]
        names = t["dark_hues"] if luminance < float(t["dark_luminance"]) else t["hues"]
        palette = tuple(dict.fromkeys(str(names[i]) for i in order))
    edges = features["edge_density"]
    busyness = ("busy with detail" if edges > float(t["busy_edges"]) else
                "calm and spacious" if edges < float(t["calm_edges"]) else "")
    return Looks(light, contrast_word, warmth, saturation_word, palette, busyness)


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def commentary_text(subjects: Sequence[str], looks: Looks) -> str:
    """One sentence: "A painting of <subjects> in <light>, with <warmth> <saturation> colours
    of <palette>, <contrast>; <busyness>." (parts with nothing to say are left out)."""
    sentence = "A painting"
    if subjects:
        sentence += f" of {_join(subjects)}"
    if looks.light:
        sentence += f" in {looks.light}"
    colour = " ".join(w for w in (looks.warmth, looks.saturation) if w)
    if looks.palette or colour:
        sentence += f", with {colour + ' ' if colour else ''}colours"
        if looks.palette:
            sentence += f" of {_join(looks.palette)}"
    if looks.contrast:
        sentence += f", {looks.contrast}"
    if looks.busyness:
        sentence += f"; {looks.busyness}"
    return sentence + "."


def build_commentary(vocabulary: Vocabulary, probabilities: np.ndarray | None = None,
                     features: Mapping[str, float] | None = None) -> Commentary:
    """The commentary from class probabilities and/or raw colour features (either may be None)."""
    subjects = read_subjects(probabilities, vocabulary) if probabilities is not None else []
    looks = read_looks(features, vocabulary.looks) if features is not None else Looks()
    if not subjects and not looks.words():
        return Commentary()
    text = commentary_text([phrase for phrase, _ in subjects], looks)
    return Commentary(tuple(subjects), looks, text)


def raw_features(values: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """perceptual:v1 features as the graph gives them ([-1, 1]) → raw [0, 1] values by name."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size < len(names):
        raise BundleError(f"the colour features have {values.size} values but the manifest "
                          f"names {len(names)}; re-export the bundle.")
    return {name: float((v + 1.0) / 2.0) for name, v in zip(names, values, strict=False)}
