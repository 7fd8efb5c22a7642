"""Stage: procedurally composed music, rendered with FluidSynth, captioned by construction."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from tqdm import tqdm

from training.corpora.composer import compose, to_midi
from training.corpora.config import CorporaConfig
from training.corpora.debian import ensure_installed
from training.corpora.music_captions import pace_word
from training.corpora.music_features import measure_features
from training.corpora.music_presets import describe_procedural, sample_params
from training.corpora.music_words import FEELINGS, brightness_word, loudness_word, unique
from training.corpora.stages import StageStore
from training.corpora.synth import SynthError, check_synth, render_midi

SOURCE = "procedural-fluidsynth"
PACKAGES: tuple[str, ...] = ("fluidsynth", "fluid-soundfont-gm")
"""Debian packages this source needs: the renderer and the FluidR3 GM soundfont."""
LICENCE = "CC0-1.0 (generated here); rendered with FluidR3_GM.sf2 (MIT)"
COMPOSE_SECONDS_MARGIN = 0.3
"""Composition stops this long before the clip end so the last notes ring out inside it."""


def _verify(measured: dict, params: dict) -> dict:
    """Whether the measured clip agrees with its construction (tempo within 8 % or an octave)."""
    bpm, tempo = measured["tempo_bpm"], params["tempo_bpm"]
    tempo_ok = any(abs(bpm - tempo * k) <= 0.08 * tempo * k for k in (0.5, 1.0, 2.0))
    constructed_mode = "major" if params["mode"] == "major" else "minor"
    mode_ok = None if params["mode"] == "whole_tone" else measured["mode"] == constructed_mode
    return {"tempo": tempo_ok, "mode": mode_ok}


def ensure_synth(install: bool = True) -> None:
    """FluidSynth and its soundfont, installed from Debian like every other source's packages.

    A renderer that is already usable (also one not installed by dpkg) is left alone; raises
    `DebianError` when the packages cannot be installed, `SynthError` when they are installed
    and still do not work.
    """
    try:
        check_synth()
        return
    except SynthError:
        ensure_installed(PACKAGES, install=install, source="procedural music")
    check_synth()


def build_procedural(config: CorporaConfig) -> list[dict]:
    """Composes, renders and captions `config.procedural_clips` clips, balanced over feelings."""
    count = config.procedural_clips
    if count <= 0:
        return []
    ensure_synth(config.install)
    store = StageStore(config.stages_dir / "procedural_music.jsonl")
    audio_dir = config.audio_dir / "procedural"
    seconds = config.audio.clip_seconds - COMPOSE_SECONDS_MARGIN
    units = [f"proc-{i:05d}-{FEELINGS[i % len(FEELINGS)]}" for i in range(count)]
    for index, unit in enumerate(tqdm(units, desc="procedural music", unit="clip")):
        if store.done(unit):
            continue
        feeling = FEELINGS[index % len(FEELINGS)]
        rng = np.random.default_rng([config.seed, index])
        params = sample_params(feeling, rng, seconds, seed=config.seed * 100_003 + index)
        wav = audio_dir / f"{unit}.wav"
        limiter = render_midi(to_midi(params, compose(params)), wav, config.audio)
        caption, keywords, labels = describe_procedural(params, feeling)
        row = {
            "id": unit,
            "audio_path": wav.relative_to(config.out).as_posix(),
            "offset": 0.0,
            "duration": round(config.audio.clip_seconds, 4),
            "caption": caption,
            "labels": labels,
            "keywords": keywords,
            "feeling": feeling,
            "source": SOURCE,
            "licence": LICENCE,
            "params": params.to_dict(),
            "limiter_gain": round(limiter, 4),
        }
        if config.verify_procedural:
            audio, rate = sf.read(wav, dtype="float32")
            measured = measure_features(audio, rate)
            row["measured"] = measured.to_dict()
            row["agreement"] = _verify(row["measured"], row["params"])
            extra = [brightness_word(measured.centroid_hz)]
            row["keywords"] = unique([*keywords, *(w for w in extra if w)])
            row["measured_words"] = unique([pace_word(measured),
                                            loudness_word(measured.rms_db) or ""])
        store.add(unit, [row])
    return store.rows(units)
