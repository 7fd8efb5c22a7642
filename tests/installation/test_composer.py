"""The composer thread (with a fake engine): all inference off the UI thread, newest request wins,
and an engine that cannot load is reported and retried."""

from collections.abc import Iterator

import numpy as np
import pytest

from core.mel import log_mel
from engine import Engine
from installation.app import engine_factory
from installation.audio_player import AudioPlayer, NullAudioSink
from installation.composer import ComposedPiece, ComposeRequest, ComposerThread, EngineState
from installation.config import AudioOutputConfig, KioskConfig
from tests.installation.helpers import FakeEngine, artwork, wait_until


def start(engine_factory, player, retry_s=30.0):
    composer = ComposerThread(engine_factory, player, top_k=5, retry_s=retry_s)
    seen = {"status": [], "feelings": [], "mels": [], "pieces": [], "failed": []}
    composer.engine_status.connect(lambda s, m: seen["status"].append((s, m)))
    composer.feelings_ready.connect(lambda pid, f: seen["feelings"].append((pid, f)))
    composer.mel_ready.connect(seen["mels"].append)
    composer.piece_ready.connect(seen["pieces"].append)
    composer.failed.connect(lambda pid, m: seen["failed"].append((pid, m)))
    composer.start()
    return composer, seen


def test_a_painting_is_composed_and_streamed_to_the_player(qapp, player):
    engine = FakeEngine()
    composer, seen = start(lambda: engine, player)
    try:
        crop = np.ascontiguousarray(artwork(1)[..., ::-1])
        composer.submit(ComposeRequest(1, crop, "warm evening"))
        assert wait_until(lambda: seen["pieces"], timeout=10)
    finally:
        composer.stop()
    assert [s for s, _ in seen["status"]][:2] == [EngineState.LOADING, EngineState.READY]
    (pid, feelings), = seen["feelings"]
    assert pid == 1 and len(feelings) == 5
    mel, piece = seen["mels"][0], seen["pieces"][0]
    assert mel.piece_id == piece.piece_id and mel.log_mel.shape == (80, 896)
    assert piece.audio.size == 896 * 256
    assert engine.calls[:5] == ["encode_image", "feelings", "build_prompt", "encode_text",
                                "generate_mel"]
    assert f"Painting Emotion: {feelings[0][0]}." in engine.prompts[0]  # the top feeling
    assert "Art Commentary: warm evening." in engine.prompts[0]


def test_recompose_reuses_the_painting_and_uses_the_chosen_feelings(qapp, player):
    engine = FakeEngine()
    composer, seen = start(lambda: engine, player)
    try:
        composer.submit(ComposeRequest(7, np.zeros((32, 32, 3), np.uint8)))
        assert wait_until(lambda: len(seen["pieces"]) == 1, timeout=10)
        composer.submit(ComposeRequest(7, None, "storm", ("fear", "awe")))
        assert wait_until(lambda: len(seen["pieces"]) == 2, timeout=10)
        composer.submit(ComposeRequest(8, None, "gone"))  # its painting was never seen
        assert wait_until(lambda: seen["failed"], timeout=10)
    finally:
        composer.stop()
    assert engine.calls.count("encode_image") == 1
    assert "Painting Emotion: fear, awe." in engine.prompts[1]
    assert seen["failed"][0][0] == 8 and seen["failed"][0][1].endswith(".")


def test_the_newest_request_wins(qapp, player):
    engine = FakeEngine(delay_s=0.3)
    composer, seen = start(lambda: engine, player)
    try:
        assert wait_until(lambda: composer.state == EngineState.READY, timeout=10)
        composer.submit(ComposeRequest(1, np.zeros((16, 16, 3), np.uint8)))
        assert wait_until(lambda: "generate_mel" in engine.calls, timeout=5)
        composer.submit(ComposeRequest(2, np.full((16, 16, 3), 200, np.uint8)))
        assert wait_until(lambda: seen["pieces"], timeout=10)
        assert not wait_until(lambda: len(seen["pieces"]) > 1, timeout=0.5)
    finally:
        composer.stop()
    assert [p.painting_id for p in seen["pieces"]] == [2]


def test_an_engine_that_cannot_load_is_reported_and_retried(qapp, player):
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("No model bundle in assets/bundle; pass --bundle or export one")
        return FakeEngine()

    composer, seen = start(factory, player, retry_s=0.1)
    try:
        assert wait_until(lambda: composer.state == EngineState.READY, timeout=5)
    finally:
        composer.stop()
    error = next(m for s, m in seen["status"] if s == EngineState.ERROR)
    assert error == ("No model bundle in assets/bundle; pass --bundle or export one; "
                     "retrying in 0.1 s.")
    assert len(attempts) == 2


def a_melody(amplitude: float, seconds: float = 3.0, sample_rate: int = 22050) -> np.ndarray:
    """Six half-second notes with two overtones each, Hann-shaped, peak about ``amplitude``."""
    t = np.arange(int(sample_rate * seconds / 6)) / sample_rate
    notes = [sum(np.sin(2 * np.pi * f * k * t) / k for k in (1, 2, 3)) * np.hanning(t.size)
             for f in (262, 330, 392, 523, 392, 330)]
    return (amplitude / 1.6 * np.concatenate(notes)).astype(np.float32)


def with_an_ideal_vocoder(engine: Engine | FakeEngine, audio: np.ndarray) -> Engine | FakeEngine:
    """Makes ``engine`` generate the Mel of ``audio`` and vocode it back to exactly ``audio``:
    the level the kiosk plays can then only come from the loudness gain. Everything else (the
    engine's compose, its gain, the composer, the mixer) is the real code."""
    def vocode_stream(mel: np.ndarray, chunk_frames: int | None = 64) -> Iterator[np.ndarray]:
        chunk = (chunk_frames or 64) * 256
        for start in range(0, audio.size, chunk):
            yield audio[start:start + chunk]

    engine.generate_mel = lambda image_embedding, text_embedding, seed=None: log_mel(audio)
    engine.vocode_stream = vocode_stream
    return engine


def rms_dbfs(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(audio.astype(np.float64) ** 2))))


def played_by_the_kiosk(engine: Engine | FakeEngine) -> np.ndarray:
    """One piece composed at the kiosk's loudness target, as the audio callback rendered it
    (volume 1, no crossfade; the limiter's knee is above every sample here)."""
    target = AudioOutputConfig().loudness_target_dbfs
    assert target == -20.0
    config = AudioOutputConfig(device="none", crossfade_seconds=0.0, volume=1.0, limit=1.0)
    player = AudioPlayer(config, 22050, null_speed=20.0, record=True)
    player.start()
    sink = player.output
    assert isinstance(sink, NullAudioSink)
    composer = ComposerThread(lambda: engine, player, target_dbfs=target)
    pieces: list[ComposedPiece] = []
    composer.piece_ready.connect(pieces.append)
    composer.start()
    try:
        composer.submit(ComposeRequest(1, np.ascontiguousarray(artwork(1)[..., ::-1])))
        assert wait_until(lambda: pieces, timeout=30)
        mixer = player.mixer
        assert wait_until(lambda: mixer.now_playing is not None and mixer.now_playing.finished,
                          timeout=10)
    finally:
        composer.stop()
        player.close()
    return np.concatenate([block[:, 0] for block in sink.blocks if np.any(block)])  # no silence


@pytest.mark.parametrize("amplitude", [0.02, 1.0])
def test_the_kiosk_plays_every_piece_at_the_loudness_target(qapp, amplitude):
    """A quiet piece (-44 dBFS) and a loud one (-10 dBFS) both come out of the audio
    callback at the configured -20 dBFS RMS (full-scale sine = -3 dBFS), ±1 dB: the gain is
    estimated from the Mel (core/loudness.py), the level is measured here on the samples."""
    source = a_melody(amplitude)
    assert abs(rms_dbfs(source) + 20.0) > 9.0  # the source itself is far from the target
    played = played_by_the_kiosk(with_an_ideal_vocoder(FakeEngine(), source))
    assert played.size == pytest.approx(source.size, abs=1024)
    assert rms_dbfs(played) == pytest.approx(-20.0, abs=1.0)


def test_the_real_engine_piece_is_played_at_the_loudness_target(qapp, tiny_bundle):
    """The same through engine.Engine.compose (the tiny bundle), which computes the gain."""
    config = KioskConfig(bundle=str(tiny_bundle), engine_providers=["cpu"])
    source = a_melody(0.02)
    played = played_by_the_kiosk(with_an_ideal_vocoder(engine_factory(config)(), source))
    assert played.size == pytest.approx(source.size, abs=1024)
    assert rms_dbfs(played) == pytest.approx(-20.0, abs=1.0)


def test_a_streamed_piece_plays_while_its_mel_grows(qapp, player, tiny_token_bundle):
    """A sampling bundle's piece (8-frame blocks here): the frames made so far go out before
    each block that brings new ones (`mel_growing`), the whole Mel once (`mel_ready`), before
    the piece is done; the step graph makes each frame once."""
    config = KioskConfig(bundle=str(tiny_token_bundle), engine_providers=["cpu"])
    engine = engine_factory(config)()
    compose = engine.compose
    engine.compose = lambda *args, **kwargs: compose(*args, chunk_frames=8, **kwargs)
    step = engine._session(engine.manifest.decoder.step_graph)
    run, runs = step.run, []
    step.run = lambda feeds: runs.append(1) or run(feeds)
    composer = ComposerThread(lambda: engine, player, seed=3)
    events: list[tuple[str, object]] = []
    composer.mel_growing.connect(lambda mel: events.append(("growing", mel)))
    composer.mel_ready.connect(lambda mel: events.append(("ready", mel)))
    composer.piece_ready.connect(lambda piece: events.append(("piece", piece)))
    crop = np.ascontiguousarray(artwork(21)[..., ::-1])
    composer.start()
    try:
        composer.submit(ComposeRequest(1, crop))
        assert wait_until(lambda: events and events[-1][0] == "piece", timeout=30)
    finally:
        composer.stop()
    frames = engine.manifest.decoder.frames
    assert [kind for kind, _ in events] == ["growing", "growing", "ready", "piece"]
    mels = [mel for kind, mel in events if kind != "piece"]
    # nothing before the first block (no loudness target), then 16 frames at a time
    assert [mel.log_mel.shape[-1] for mel in mels] == [0, 16, frames]
    assert all(mel.total_frames == frames and mel.piece_id == events[-1][1].piece_id
               for mel in mels)
    assert [mel.complete for mel in mels] == [False, False, True]
    np.testing.assert_array_equal(mels[1].log_mel, mels[2].log_mel[:, :16])
    assert len(runs) == frames
    reading = engine.describe(crop)
    expected = engine.generate_mel(reading.image_embedding, engine.encode_text(mels[2].prompt),
                                   seed=3)
    np.testing.assert_array_equal(mels[2].log_mel, expected)
    assert events[-1][1].audio.size == frames * 256
