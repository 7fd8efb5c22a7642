"""The kiosk's listen mode, offscreen: a WAV played into a stand-in microphone stream, the real
bundle's music encoder (tests/retrieval_fixture.py), a real collection index, real Qt widgets."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from installation.listen import (
    ListenConfig,
    ListenMode,
    MicrophoneError,
    Recorder,
    level_dbfs,
    sounddevice_input_stream,
)
from installation.ui.listen_view import meter_percent
from tests.installation.helpers import wait_until
from tests.retrieval_fixture import REPO, retrieval_bundle

SR = 22050


class WavInputStream:
    """Stands in for sounddevice.InputStream: plays a WAV file into the callback from its own
    thread, block by block (as fast as it can), then calls finished_callback."""

    def __init__(self, wav: Path, *, samplerate, blocksize, channels, dtype, callback, device,
                 finished_callback=None):
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
        assert rate == samplerate and channels == 1 and dtype == "float32"
        self.audio, self.blocksize, self.callback = audio, blocksize, callback
        self.finished_callback = finished_callback
        self.stopped = threading.Event()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for start in range(0, len(self.audio), self.blocksize):
            if self.stopped.is_set():
                return
            block = self.audio[start:start + self.blocksize]
            self.callback(block, len(block), None, None)
        if self.finished_callback:
            self.finished_callback()

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopped.set()
        self.thread.join(5)

    def close(self):
        self.closed = True


def _piece(seconds: float, path: Path) -> Path:
    """A loud bright chord section inside quiet noise, written as a 22.05 kHz WAV."""
    t = np.arange(round(seconds * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (262, 330, 392, 523))
    audio = 0.02 * np.random.default_rng(0).standard_normal(t.size)
    mid = slice(t.size // 3, 2 * t.size // 3)
    audio[mid] += 0.15 * chord[mid]
    sf.write(path, audio.astype(np.float32), SR)
    return path


def stream_factory(wav: Path):
    streams = []

    def make(**kwargs):
        streams.append(WavInputStream(wav, **kwargs))
        return streams[-1]

    return make, streams


def test_level_meter_known_answers():
    assert level_dbfs(np.full(100, 0.5, np.float32)) == pytest.approx(-6.0206, abs=1e-3)
    assert level_dbfs(np.zeros(10, np.float32)) == pytest.approx(-120.0)
    assert [meter_percent(x) for x in (-90.0, -60.0, -30.0, 0.0, 3.0)] == [0, 0, 50, 100, 100]


def test_recorder_takes_at_most_max_seconds_and_reports_levels(tmp_path):
    wav = _piece(6.0, tmp_path / "six.wav")
    make, streams = stream_factory(wav)
    levels = []
    recorder = Recorder(ListenConfig(max_seconds=4.0, block_size=1000), make,
                        lambda db, s: levels.append((db, s)))
    audio = recorder.record(threading.Event())
    expected, _ = sf.read(str(wav), dtype="float32")
    assert audio.size == 4 * SR
    np.testing.assert_array_equal(audio, expected[:4 * SR])
    assert levels[-1][1] == pytest.approx(4.0)
    assert max(db for db, _ in levels) > -25 > min(db for db, _ in levels)  # chord vs noise
    assert streams[0].closed and streams[0].stopped.is_set()


def test_recorder_returns_what_a_short_stream_gave(tmp_path):
    make, _ = stream_factory(_piece(2.0, tmp_path / "two.wav"))
    audio = Recorder(ListenConfig(max_seconds=15.0), make).record(threading.Event())
    assert audio.size == 2 * SR


def test_no_portaudio_device_is_one_sentence(monkeypatch):
    import sounddevice as sd

    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [
        {"name": "speakers", "max_input_channels": 0, "max_output_channels": 2}])
    with pytest.raises(MicrophoneError, match="No microphone was found"):
        sounddevice_input_stream(samplerate=SR, blocksize=1024, channels=1, dtype="float32",
                                 callback=None, device=None)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """The real bundle + a small music encoder, and the sample artworks indexed through it."""
    from engine import Engine
    from engine.collection import build_index, image_files, read_sidecar
    from training.features import read_rgb

    root = tmp_path_factory.mktemp("listen")
    bundle = retrieval_bundle(tmp_path_factory.mktemp("retrieval"))
    engine = Engine.load(bundle, providers=["cpu"], warmup=False)
    folder = REPO / "assets" / "artworks"
    manifest = engine.manifest
    index = build_index(image_files(folder)[:3], engine.describe, read_rgb, root / "index.npz",
                        manifest.encoders["image"],
                        manifest.files[manifest.graphs["image_encoder"].file],
                        read_sidecar(folder))
    index.save(root / "index.npz")
    return bundle, root / "index.npz"


def _listen_mode(qapp, bundle, index_path, make, composed):
    from PyQt6.QtWidgets import QMainWindow, QWidget

    from engine.retrieval import MusicRetrieval
    from installation.ui.listen_view import ListenView

    window = QMainWindow()
    window.setCentralWidget(QWidget())
    window.resize(1280, 800)
    window.show()
    view = ListenView(window)
    mode = ListenMode(view, lambda: MusicRetrieval.load(bundle), index_path, composed.append,
                      ListenConfig(max_seconds=15.0), make)
    return window, view, mode


def test_listen_mode_matches_a_wav_and_plays_its_music(qapp, tmp_path, collection):
    from engine.collection import CollectionIndex
    from engine.retrieval import MusicRetrieval

    bundle, index_path = collection
    wav = _piece(8.0, tmp_path / "hum.wav")
    make, streams = stream_factory(wav)
    composed = []
    window, view, mode = _listen_mode(qapp, bundle, index_path, make, composed)
    mode.start()
    assert view.isVisible() and view.page == "recording"
    assert view.geometry() == window.rect()
    assert wait_until(lambda: mode.last_result is not None or mode.last_error, timeout=60)
    assert not mode.last_error
    result = mode.last_result
    assert result.seconds == pytest.approx(8.0)
    # the same answer as the engine gives for the same audio read from the file
    audio, _ = sf.read(str(wav), dtype="float32")
    retrieval = MusicRetrieval.load(bundle)
    index = CollectionIndex.load(index_path)
    expected = retrieval.match(retrieval.embed_audio(audio, SR).embedding, index, 3)
    assert [m.title for m in result.matches] == [m.title for m in expected]
    assert view.page == "match" and view.canvas.has_image
    best = expected[0]
    assert best.title in view.match_title.text() and best.artist in view.match_title.text()
    assert view.match_feelings.text() == f"It feels like: {', '.join(best.feelings)}"
    view.play_button.click()
    assert len(composed) == 1 and not view.isVisible()
    np.testing.assert_array_equal(composed[0], result.images[0])
    assert streams[0].closed
    window.close()


def test_silence_and_missing_microphone_give_a_clear_message(qapp, tmp_path, collection):
    bundle, index_path = collection
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(3 * SR, np.float32), SR)
    make, _ = stream_factory(silent)
    window, view, mode = _listen_mode(qapp, bundle, index_path, make, [])
    mode.start()
    assert wait_until(lambda: bool(mode.last_error), timeout=20)
    assert "heard nothing" in mode.last_error and view.page == "message"
    assert mode.last_error in view.message.text()

    def no_microphone(**_kwargs):
        raise MicrophoneError("No microphone was found; plug one in and press Listen again.")

    mode2 = ListenMode(view, lambda: None, index_path, lambda _rgb: None, ListenConfig(),
                       no_microphone)
    mode2.start()
    assert wait_until(lambda: bool(mode2.last_error), timeout=10)
    assert view.message.text() == "No microphone was found; plug one in and press Listen again."
    view.message_back.click()
    assert not view.isVisible()
    window.close()


def test_done_ends_the_take_early(qapp, tmp_path, collection):
    bundle, index_path = collection

    class SlowStream(WavInputStream):
        def _run(self):  # one block every 10 ms, like a live microphone (faster)
            for start in range(0, len(self.audio), self.blocksize):
                if self.stopped.wait(0.01):
                    return
                self.callback(self.audio[start:start + self.blocksize], self.blocksize, None,
                              None)

    wav = _piece(15.0, tmp_path / "long.wav")
    window, view, mode = _listen_mode(qapp, bundle, index_path,
                                      lambda **kw: SlowStream(wav, **kw), [])
    heard = []
    mode.signals.level.connect(lambda _db, seconds: heard.append(seconds))
    mode.start()
    assert wait_until(lambda: bool(heard) and heard[-1] >= 1.5, timeout=20)
    assert view.meter.value() > 0 and "s left" in view.seconds.text()
    view.done_button.click()
    assert wait_until(lambda: mode.last_result is not None or mode.last_error, timeout=60)
    assert mode.last_result is not None and 1.0 <= mode.last_result.seconds < 14.0
    window.close()


def test_kiosk_listen_button_to_the_matched_paintings_music(qapp, tmp_path, collection):
    """The whole kiosk (real engine, null audio sink): Listen → WAV through the stand-in
    microphone → the matched painting full screen → "Play its music" composes for it."""
    import shutil

    from engine.collection import CollectionIndex
    from installation.app import engine_factory
    from installation.composer import EngineState
    from installation.kiosk import build_kiosk
    from installation.listen import LISTEN_LABEL
    from tests.installation.helpers import artwork, wall, write_video
    from tests.installation.test_end_to_end import kiosk_config

    bundle, index_path = collection
    artworks = tmp_path / "artworks"
    artworks.mkdir()
    index = CollectionIndex.load(index_path)
    for entry in index.entries:
        shutil.copy(index.resolve(entry), artworks / Path(entry.path).name)
    shutil.copy(index_path, artworks / "index.npz")
    video = write_video(tmp_path / "wall.avi", [wall()] * 10, 10)
    config = kiosk_config(tmp_path, str(video), bundle)
    config = type(config)(**{**config.__dict__, "artworks": str(artworks)})
    make, _ = stream_factory(_piece(6.0, tmp_path / "hum.wav"))
    kiosk = build_kiosk(config, engine_factory(config), artworks=[artwork(1)], microphone=make)
    feelings = []
    kiosk.composer.feelings_ready.connect(lambda pid, f: feelings.append((pid, f)))
    window = kiosk.window
    window.resize(1920, 1080)
    window.show()
    kiosk.start()
    try:
        assert window.listen_button.text() == LISTEN_LABEL
        assert window.listen_button.isVisible()
        assert window.listen_button.parentWidget() is window.centralWidget()  # in the header
        assert wait_until(lambda: kiosk.composer.state == EngineState.READY, timeout=120)
        window.listen_button.click()
        mode = kiosk.listen
        assert wait_until(lambda: mode.last_result is not None or mode.last_error, timeout=60)
        assert not mode.last_error and window.listen_view.page == "match"
        assert window.listen_view.geometry() == window.centralWidget().parentWidget().rect()
        before = kiosk.controller.painting_id
        window.listen_view.play_button.click()
        assert kiosk.controller.painting_id == before + 1
        assert wait_until(lambda: any(pid == before + 1 for pid, _ in feelings), timeout=60)
        best = mode.last_result.matches[0]
        chips = [label for label, _ in next(f for pid, f in feelings if pid == before + 1)]
        assert tuple(chips[:len(best.feelings)]) == best.feelings  # the same painting, read
    finally:
        kiosk.shutdown()
        window.close()


def test_real_sounddevice_without_a_microphone_says_so(qapp, tmp_path, collection):
    """On a machine with no input device (this CI machine), the real sounddevice factory ends in
    the no-microphone sentence instead of an exception."""
    import sounddevice as sd

    if any(d["max_input_channels"] > 0 for d in sd.query_devices()):
        pytest.skip("this machine has an input device")
    bundle, index_path = collection
    window, view, mode = _listen_mode(qapp, bundle, index_path, sounddevice_input_stream, [])
    mode.start()
    assert wait_until(lambda: bool(mode.last_error), timeout=10)
    assert view.page == "message" and "microphone" in view.message.text().lower()
    window.close()
