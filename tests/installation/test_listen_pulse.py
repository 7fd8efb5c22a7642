"""The listen mode's real microphone path against a real sound server (issue 11), where the
machine allows: PulseAudio with a null sink, its monitor as the default source, a WAV played
into the sink with paplay, and Recorder reading it through the real sounddevice InputStream.
Skipped where PulseAudio is not installed (Debian pulseaudio pulseaudio-utils
libasound2-plugins; ../shared/ENVIRONMENT.md)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from installation.listen import ListenConfig, Recorder, level_dbfs, sounddevice_input_stream
from tests.installation.pulse_helpers import PulseServer, missing_reason, refresh_portaudio

SR = 22050
pytestmark = pytest.mark.skipif(
    missing_reason() is not None or not shutil.which("paplay"),
    reason=missing_reason() or "paplay is not installed (Debian pulseaudio-utils)")


@pytest.fixture
def pulse_null_source(monkeypatch):
    """A private PulseAudio server whose default source is the monitor of a null sink."""
    server = PulseServer.start(sample_rate=SR)
    try:
        server.use_here(monkeypatch)
        yield server.env
    finally:
        server.stop()
        refresh_portaudio()


def test_recorder_hears_a_wav_played_into_the_null_sink(pulse_null_source, tmp_path):
    import sounddevice as sd

    if not any(d["max_input_channels"] > 0 for d in sd.query_devices()):
        pytest.skip("PortAudio sees no input device under PulseAudio here")
    t = np.arange(4 * SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    wav = tmp_path / "tone.wav"
    sf.write(wav, tone, SR)
    levels = []
    recorder = Recorder(ListenConfig(max_seconds=3.0), sounddevice_input_stream,
                        lambda db, s: levels.append(db))
    player = threading.Timer(0.3, lambda: subprocess.run(
        ["paplay", "--device=kiosk", str(wav)], env=pulse_null_source, timeout=30))
    player.start()
    start = time.monotonic()
    audio = recorder.record(threading.Event())
    player.join(30)
    assert 2.5 < time.monotonic() - start < 10  # paced by the server, not instant
    assert audio.size == 3 * SR
    heard = audio[SR:]  # the tone plays from about 0.3 s on
    assert level_dbfs(heard) > -20  # the 0.3-amplitude tone is -13.5 dBFS
    spectrum = np.abs(np.fft.rfft(heard))
    peak = np.fft.rfftfreq(heard.size, 1 / SR)[int(np.argmax(spectrum))]
    assert abs(peak - 440.0) < 5.0
    assert max(levels) > -20
