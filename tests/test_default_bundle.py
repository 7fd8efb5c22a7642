"""The shipped default bundle: intact, and different paintings give audibly different music."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.loudness import normalising_gain
from engine import Engine
from engine.piece import Piece
from export.examples import held_out_works

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "assets" / "bundle"
ARTWORKS = REPO / "assets" / "artworks"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(BUNDLE, providers=["cpu"])  # verifies every file's SHA-256


SEEDS = tuple(range(8))  # a piece-level mean needs several draws: with the repetition
# prior, one early onset pattern is repeated all piece long, so single pieces differ more
"""The default decoder samples (issue 9): piece-level checks average a few fixed seeds, since two
seeds of one painting no longer line up frame by frame."""


def compose(engine: Engine, name: str, comment: str, seed: int = 0) -> Piece:
    """The piece of a sample painting; its audio is vocoded only where a test listens to it
    (the shipped HiFi-GAN takes 4–6 s per piece on a 2-core CPU)."""
    rgb = cv2.cvtColor(cv2.imread(str(ARTWORKS / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    return engine.compose(rgb, comment, seed=seed)


def long_term_spectrum(engine: Engine, name: str, comment: str) -> np.ndarray:
    """Time-mean log-Mel [n_mels] over the pieces of SEEDS (MODEL_NOTES: a piece-level
    descriptor; real tracks differ by about 0.12 normalised, i.e. 0.8 nats)."""
    return np.mean([compose(engine, name, comment, s).log_mel.mean(axis=1) for s in SEEDS], 0)


def test_manifest_names_offline_encoders_and_trained_weights(engine):
    manifest = engine.manifest
    assert engine.audio.sample_rate == 22050 and engine.audio.frames == 896
    assert engine.vocoder_name.startswith("hifigan")
    assert manifest.provenance.get("untrained") is False
    assert manifest.encoders["image"] == {"family": "efficientnet", "name": "lite0+perceptual",
                                          "pretrained": "imagenet"}
    assert manifest.commentary is not None and manifest.feelings is not None
    assert engine.samples and manifest.decoder.kind == "tokens" and manifest.decoder.stages == 2


def test_every_sample_painting_gets_its_own_reading(engine):
    # no comment: the art commentary is what tells paintings apart in the prompt
    readings = {}
    for path in sorted(ARTWORKS.glob("*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        readings[path.stem] = engine.prompt(engine.describe(rgb))
    assert len(set(readings.values())) == len(readings), readings
    pieta = engine.describe(cv2.cvtColor(cv2.imread(str(ARTWORKS / "michelangelo_pieta.jpg")),
                                         cv2.COLOR_BGR2RGB)).text
    assert "altar" in pieta and "statue" in pieta, pieta  # measured: "A painting of an altar
    # and a statue in dim light, with warm rich colours of brown and deep red."


def test_a_seed_reproduces_a_piece_and_another_seed_varies_it(engine):
    first = compose(engine, "hokusai_the_great_wave_off_kanagawa", "", seed=7)
    np.testing.assert_array_equal(
        compose(engine, "hokusai_the_great_wave_off_kanagawa", "", seed=7).log_mel, first.log_mel)
    other = compose(engine, "hokusai_the_great_wave_off_kanagawa", "", seed=8)
    assert float(np.mean(np.abs(other.log_mel - first.log_mel))) > 0.3


def test_the_music_moves_instead_of_droning(engine):
    # issue 9: spectral flux (mean |Δ| of the natural-log Mel per frame) ≥ 0.14 nats; the
    # L1-regressed BiLSTM bundle played 0.022 on these paintings, real music 0.285
    fluxes = [float(np.mean(np.abs(np.diff(compose(engine, path.stem, "", 0).log_mel, axis=1))))
              for path in sorted(ARTWORKS.glob("*.jpg"))]
    assert np.mean(fluxes) >= 0.14, fluxes  # measured 0.33 (runs/tokens-v1t, prior 6 / 4)


def test_the_music_has_a_beat(engine):
    # issue 9: onset-envelope autocorrelation peak (0.25-1.5 s lags) ≥ 0.3; real test clips
    # 0.55 on the Mel, the bundle without the repetition prior 0.12 on these paintings
    from training.evaluation.guidance_sweep import mel_beat

    beats = [mel_beat(compose(engine, path.stem, "", 0).log_mel)
             for path in sorted(ARTWORKS.glob("*.jpg"))]
    assert np.mean(beats) >= 0.3, beats  # measured 0.38
    assert engine.manifest.decoder.repeats and engine.manifest.decoder.tempo_bpm


def test_different_paintings_give_different_music(engine):
    # no comment: only the painting (and the feelings it suggests) differs
    wave = compose(engine, "hokusai_the_great_wave_off_kanagawa", "")
    audio = wave.audio()  # streamed block by block while the Mel is generated, as the kiosk does
    assert audio.size == 896 * 256 and np.isfinite(audio).all()
    gained = audio * normalising_gain(wave.log_mel, engine.audio)
    assert np.sqrt(np.mean(gained**2)) > 10 ** (-30 / 20)  # audible after the kiosk's gain
    gap = np.abs(long_term_spectrum(engine, "hokusai_the_great_wave_off_kanagawa", "")
                 - long_term_spectrum(engine, "leonardo_mona_lisa", ""))
    # measured 0.31 nats mean and 0.71 in the most different band over seeds 0-7
    assert float(gap.mean()) > 0.1 and float(gap.max()) > 0.3, gap


def test_visitors_comments_on_two_paintings_give_different_timbres(engine):
    works = {w["id"]: w["comments"][0]["text"] for w in held_out_works()}
    names = ["hokusai_the_great_wave_off_kanagawa", "renoir_bal_du_moulin_de_la_galette"]
    # the first 4 s of each (344 frames), vocoded in one pass, sound like music at all
    audio = [engine.vocode(compose(engine, name, works[name]).log_mel[:, :344]) for name in names]
    for clip in audio:
        assert np.isfinite(clip).all() and float(np.sqrt(np.mean(clip**2))) > 1e-3
    # Timbre over seeds 0-7 (the long-term spectrum): one draw's spectral centroid is the
    # seed's more than the painting's (measured 1 162 / 1 275 Hz at seed 0, 2 785 / 2 664 Hz at
    # seed 1, with the repetition prior), so the pieces are compared as a whole.
    gap = np.abs(long_term_spectrum(engine, names[0], works[names[0]])
                 - long_term_spectrum(engine, names[1], works[names[1]]))
    assert float(gap.mean()) > 0.3 and float(gap.max()) > 0.6, gap  # measured 0.56 / 1.46 nats


def test_the_comment_changes_the_music(engine):
    calm = long_term_spectrum(engine, "michelangelo_pieta", "quiet, sad and peaceful, a slow lament")
    wild = long_term_spectrum(engine, "michelangelo_pieta", "loud, fast and exciting, full of energy")
    assert float(np.mean(np.abs(calm - wild))) > 0.3  # measured 0.96 nats over seeds 0-7
