"""ArtEmis-style comments for paintings, stated from known parameters or measured statistics.

Every descriptive phrase (colour names, light, temperature, saturation, contrast, strokes, scene)
is read from the numbers; the emotion is the preset's (generated images) or the nearest preset
(measured portraits), and the template only words that emotion.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TEMPLATES: dict[str, tuple[str, ...]] = {
    "contentment": (
        "The {light} light and {colours} make this {scene} feel peaceful; I feel content and "
        "relaxed.",
        "{Strokes} and {temp} colours give the {scene} a gentle, comfortable mood, like a lazy "
        "afternoon.",
        "I feel calm looking at the {colours}; nothing in this {scene} is in a hurry.",
    ),
    "awe": (
        "The {light} {scene} with its {colours} feels vast and open; I feel small and full of "
        "wonder.",
        "The sweep of {colours} and the {contrast} make it look grand and majestic.",
        "Such a wide, {light} {scene} takes my breath away.",
    ),
    "amusement": (
        "The {colours} bounce around like confetti; it is playful and makes me smile.",
        "Such cheerful, {sat} colours and {strokes} look fun and a little silly.",
    ),
    "excitement": (
        "The {strokes} and {colours} are full of energy; the {scene} seems to move.",
        "{Colours} with {contrast} make my heart race; it feels lively and thrilling.",
    ),
    "anger": (
        "The {colours} slashed across this {light} canvas feel aggressive and furious.",
        "{Contrast} and {strokes} in {temp} colours make me feel angry and tense.",
    ),
    "disgust": (
        "The murky {colours} look like something rotting; it makes me feel queasy.",
        "These muddy {colours} and smeared brushwork are unpleasant to look at.",
    ),
    "fear": (
        "The {light} {scene} with {strokes} feels threatening, as if a storm is coming; it "
        "frightens me.",
        "{Temp} {colours} in near darkness make me uneasy; something could be hiding there.",
    ),
    "sadness": (
        "The {light} light, {colours} and {strokes} make this {scene} feel lonely and sad.",
        "Everything here is {temp}, {sat} and quiet; it reminds me of a grey day when nothing "
        "happens, and it makes me sad.",
    ),
    "something else": (
        "I am not sure what to feel: the {colours} and {strokes} are neither happy nor sad, just "
        "puzzling.",
        "This {scene} is strange and ambiguous; it makes me curious rather than emotional.",
    ),
}
SCENES = {"landscape": "landscape", "figure": "picture of a lone figure",
          "abstract": "abstract composition"}


@dataclass(frozen=True)
class Look:
    """What a comment may say about an image: statistics on parameter scales plus colours."""

    warmth: float
    brightness: float
    saturation: float
    contrast: float
    dynamism: float
    colours: tuple[str, ...]
    scene: str


def colour_name(hue_deg: float, sat: float, val: float) -> str:
    """Plain name of one HSV colour (hue in degrees, saturation and value in [0, 1])."""
    if val < 0.18:
        return "near-black"
    if sat < 0.15:
        return "white" if val > 0.85 else "grey" if val > 0.4 else "dark grey"
    bounds = ((15, "red"), (40, "orange"), (65, "golden yellow"), (160, "green"), (195, "teal"),
              (255, "blue"), (290, "violet"), (335, "pink"), (361, "red"))
    name = next(n for limit, n in bounds if hue_deg % 360 < limit)
    if val < 0.4:
        return f"deep {name}"
    if sat < 0.4:
        return f"muted {name}"
    if val > 0.75 and sat < 0.55:
        return f"pale {name}"
    return f"vivid {name}" if sat > 0.75 else name


def names_from_hsv(hsv_colours: np.ndarray, weights: np.ndarray | None = None,
                   count: int = 2) -> tuple[str, ...]:
    """Names of the `count` most weighted distinct colours of [N, 3] OpenCV-HSV colours."""
    weights = np.ones(len(hsv_colours)) if weights is None else np.asarray(weights)
    totals: dict[str, float] = {}
    for (h, s, v), w in zip(hsv_colours, weights, strict=True):
        name = colour_name(float(h) * 2, float(s) / 255, float(v) / 255)
        totals[name] = totals.get(name, 0.0) + float(w)
    return tuple(sorted(totals, key=lambda n: -totals[n])[:count])


def dominant_colours(rgb: np.ndarray, mask: np.ndarray | None = None, k: int = 4,
                     seed: int = 0) -> tuple[str, ...]:
    """Names of the main colours of an image by k-means on its (masked) pixels."""
    small = cv2.resize(rgb, (96, int(96 * rgb.shape[0] / rgb.shape[1]) or 1),
                       interpolation=cv2.INTER_AREA)
    pixels = small.reshape(-1, 3)
    if mask is not None:
        keep = cv2.resize(mask.astype(np.uint8), small.shape[1::-1]).reshape(-1) > 0
        pixels = pixels[keep] if keep.any() else pixels
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    k = max(1, min(k, len(pixels)))
    _, labels, centres = cv2.kmeans(pixels.astype(np.float32), k, None, criteria, 2,
                                    cv2.KMEANS_PP_CENTERS)
    hsv = cv2.cvtColor(centres.reshape(-1, 1, 3).clip(0, 255).astype(np.uint8),
                       cv2.COLOR_RGB2HSV).reshape(-1, 3)
    return names_from_hsv(hsv, np.bincount(labels.reshape(-1), minlength=k))


def phrases(look: Look) -> dict[str, str]:
    """The slot values of the templates, each read from one number of `look`."""
    light = ("dark, gloomy" if look.brightness < 0.25 else "dim" if look.brightness < 0.45
             else "soft" if look.brightness < 0.7 else "bright")
    temp = "warm" if look.warmth > 0.35 else "cold" if look.warmth < -0.35 else "mixed"
    sat = "vivid" if look.saturation > 0.7 else "muted" if look.saturation < 0.3 else "gentle"
    contrast = ("harsh contrasts" if look.contrast > 0.65 else "hazy, low contrast"
                if look.contrast < 0.3 else "clear contrasts")
    strokes = ("calm, horizontal brushstrokes" if look.dynamism < 0.3 else
               "loose, restless brushwork" if look.dynamism < 0.6 else
               "swirling, agitated strokes")
    colours = " and ".join(look.colours) + " tones" if look.colours else f"{temp} colours"
    values = {"light": light, "temp": temp, "sat": sat, "contrast": contrast,
              "strokes": strokes, "colours": colours, "scene": look.scene}
    values.update({k.capitalize(): v[:1].upper() + v[1:] for k, v in list(values.items())})
    return values


def comments(look: Look, emotion: str, count: int, rng: np.random.Generator,
             templates: dict[str, tuple[str, ...]] = TEMPLATES) -> list[str]:
    """`count` distinct comments (as many as there are templates at most) voicing `emotion`."""
    options = templates[emotion]
    order = rng.permutation(len(options))[: max(1, min(count, len(options)))]
    values = phrases(look)
    return [options[i].format(**values) for i in order]
