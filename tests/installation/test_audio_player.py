"""Gapless playback, asserted on the buffers the audio callback really filled (not on timing)."""

import math
import threading
import time

import numpy as np
import pytest

from installation import audio_player
from installation.audio_player import (
    AudioDeviceError,
    AudioPlayer,
    AudioState,
    NullAudioSink,
)
from installation.config import AudioOutputConfig
from installation.limiter import PeakLimiter, soft_clip
from installation.mixer import Mixer, Piece
from installation.ring_buffer import BlockRing, Reblocker

B = 256  # block size used by these tests
SR = 22050


def make_mixer(**overrides) -> Mixer:
    settings = dict(sample_rate=SR, crossfade_seconds=1000 / SR, fade_out_seconds=2000 / SR,
                    volume=1.0, limit=1.0, end_fade_samples=0)
    settings.update(overrides)
    return Mixer(**settings)


def piece_of(blocks, close=True, capacity=64) -> Piece:
    ring = BlockRing(B, capacity)
    for block in blocks:
        assert ring.put(np.asarray(block, np.float32))
    if close:
        ring.close()
    return Piece(ring)


def callback_blocks(mixer: Mixer, count: int, channels: int = 1) -> np.ndarray:
    """Runs the sounddevice-style callback ``count`` times; returns what it wrote, joined."""
    out = []
    for _ in range(count):
        buffer = np.full((B, channels), np.nan, np.float32)
        mixer.callback(buffer, B, None, None)
        out.append(buffer.copy())
    return np.concatenate(out)


def numbered_blocks(count: int, scale: float = 0.001) -> list[np.ndarray]:
    return [np.full(B, (i + 1) * scale, np.float32) for i in range(count)]


def test_blocks_are_consumed_in_order():
    mixer = make_mixer()
    mixer.play(piece_of(numbered_blocks(10)))
    out = callback_blocks(mixer, 12)[:, 0]
    per_block = out.reshape(12, B)
    assert np.allclose(per_block[:10], np.array(numbered_blocks(10)))
    assert np.all(per_block[10:] == 0.0)
    assert mixer.stats.underflows == 0  # an ended piece is silence, not an underflow


def test_callback_fills_every_channel():
    mixer = make_mixer(channels=2)
    mixer.play(piece_of(numbered_blocks(2)))
    out = callback_blocks(mixer, 2, channels=2)
    assert np.array_equal(out[:, 0], out[:, 1])
    assert not np.isnan(out).any()


def test_a_piece_starts_on_its_first_streamed_block():
    mixer = make_mixer()
    ring = BlockRing(B, 8)
    mixer.play(Piece(ring))
    silent = callback_blocks(mixer, 3)[:, 0]
    assert np.all(silent == 0.0) and mixer.stats.underflows == 0  # not started: no underflow
    ring.put(np.full(B, 0.5, np.float32))
    assert np.allclose(callback_blocks(mixer, 1)[:, 0], 0.5)


def test_crossfade_mixes_both_pieces_with_equal_power_gains_at_the_right_samples():
    n = 1000
    mixer = make_mixer(crossfade_seconds=n / SR)
    mixer.play(piece_of([np.full(B, 0.5)] * 20))
    before = callback_blocks(mixer, 3)[:, 0]
    mixer.play(piece_of([np.full(B, 0.25)] * 20))
    after = callback_blocks(mixer, 8)[:, 0]  # the new piece's first block is already there

    assert np.allclose(before, 0.5)
    t = np.arange(len(after)) / n
    fading = np.where(t < 1, np.cos(0.5 * np.pi * np.minimum(t, 1)), 0.0)
    rising = np.where(t < 1, np.sin(0.5 * np.pi * np.minimum(t, 1)), 1.0)
    assert np.allclose(after, 0.5 * fading + 0.25 * rising, atol=1e-6)
    assert np.allclose(fading ** 2 + rising ** 2, 1.0)
    assert after[0] == pytest.approx(0.5) and after[n:] == pytest.approx(0.25)


def test_gains_are_equal_power_on_their_own():
    """Each gain curve measured separately (the other piece silent): g_out² + g_in² = 1."""
    n = 700

    def gains(old: float, new: float) -> np.ndarray:
        mixer = make_mixer(crossfade_seconds=n / SR)
        mixer.play(piece_of([np.full(B, old)] * 10))
        callback_blocks(mixer, 1)
        mixer.play(piece_of([np.full(B, new)] * 10))
        return callback_blocks(mixer, 3)[:n, 0]

    g_out, g_in = gains(0.6, 0.0) / 0.6, gains(0.0, 0.6) / 0.6
    assert np.allclose(g_out ** 2 + g_in ** 2, 1.0, atol=1e-5)
    assert g_out[0] == pytest.approx(1.0) and g_in[0] == pytest.approx(0.0)
    assert np.all(np.diff(g_out) <= 1e-7) and np.all(np.diff(g_in) >= -1e-7)


def test_crossfade_waits_for_the_new_pieces_first_block():
    mixer = make_mixer(crossfade_seconds=B / SR)
    mixer.play(piece_of([np.full(B, 0.5)] * 10))
    callback_blocks(mixer, 1)
    ring = BlockRing(B, 8)
    mixer.play(Piece(ring))
    assert np.allclose(callback_blocks(mixer, 2)[:, 0], 0.5)  # the old piece plays on
    ring.put(np.full(B, 0.25, np.float32))
    ring.close()
    fade = callback_blocks(mixer, 1)[:, 0]
    t = np.arange(B) / B
    assert np.allclose(fade, 0.5 * np.cos(0.5 * np.pi * t) + 0.25 * np.sin(0.5 * np.pi * t))


def test_limiter_keeps_every_sample_within_the_limit():
    limit = 0.7
    mixer = make_mixer(limit=limit)
    rng = np.random.default_rng(0)
    loud = [rng.normal(0, 3.0, B).astype(np.float32) for _ in range(20)]
    loud[5][:] = 50.0  # a full block far above the limit
    loud[9][100] = -80.0  # a single spike
    mixer.play(piece_of(loud))
    out = callback_blocks(mixer, 20)[:, 0]
    assert np.max(np.abs(out)) <= limit
    assert np.max(np.abs(out)) > 0.5 * limit  # limited, not muted


def test_limiter_leaves_quiet_audio_untouched():
    limiter = PeakLimiter(limit=0.9)
    quiet = (0.5 * np.sin(np.linspace(0, 60, 4096))).astype(np.float32)
    assert np.array_equal(limiter.process(quiet), quiet)
    assert np.array_equal(soft_clip(quiet, 0.9), quiet)
    assert np.max(np.abs(soft_clip(np.array([5.0, -5.0, 0.85], np.float32), 0.9))) <= 0.9


def test_underflow_is_counted_and_played_as_silence_not_raised():
    mixer = make_mixer()
    ring = BlockRing(B, 16)
    piece = Piece(ring)
    mixer.play(piece)
    for block in numbered_blocks(2):
        ring.put(block)
    out = callback_blocks(mixer, 5)[:, 0].reshape(5, B)
    assert np.allclose(out[:2], np.array(numbered_blocks(2)))
    assert np.all(out[2:] == 0.0)
    assert mixer.stats.underflows == 3 and piece.underflows == 3
    for block in numbered_blocks(4)[2:]:  # the producer catches up: playback resumes in order
        ring.put(block)
    ring.close()
    resumed = callback_blocks(mixer, 3)[:, 0].reshape(3, B)
    assert np.allclose(resumed[:2], np.array(numbered_blocks(4)[2:]))
    assert mixer.stats.underflows == 3 and piece.finished


def test_fade_out_when_the_visitor_leaves():
    mixer = make_mixer(fade_out_seconds=4 * B / SR)
    piece = piece_of([np.full(B, 0.5)] * 20)
    mixer.play(piece)
    callback_blocks(mixer, 2)
    mixer.fade_out()
    out = callback_blocks(mixer, 6)[:, 0]
    t = np.arange(4 * B) / (4 * B)
    assert np.allclose(out[:4 * B], 0.5 * np.cos(0.5 * np.pi * t), atol=1e-6)
    assert np.all(out[4 * B:] == 0.0)
    assert piece.finished


def test_volume_scales_the_output():
    mixer = make_mixer()
    mixer.play(piece_of([np.full(B, 0.5)] * 4))
    mixer.set_volume(0.5)
    out = callback_blocks(mixer, 2)[:, 0]
    assert np.allclose(out[:B], 0.5 * np.linspace(1.0, 0.5, B))  # a ramp, no zipper noise
    assert np.allclose(out[B:], 0.25)


def test_the_last_block_of_a_piece_ends_without_a_click():
    mixer = make_mixer(end_fade_samples=64)
    mixer.play(piece_of([np.full(B, 0.5)] * 2))
    out = callback_blocks(mixer, 2)[:, 0]
    assert np.allclose(out[:B + B - 64], 0.5)
    assert abs(out[-1]) < 0.05 and np.all(np.diff(out[-64:]) <= 0)


def test_reblocker_cuts_any_chunks_into_fixed_blocks():
    reblocker = Reblocker(B)
    chunks = [np.arange(0, 300), np.arange(300, 310), np.arange(310, 1000)]
    blocks = [b for chunk in chunks for b in reblocker.push(chunk)] + reblocker.flush()
    joined = np.concatenate(blocks)
    assert all(b.shape == (B,) for b in blocks)
    assert np.array_equal(joined[:1000], np.arange(1000)) and np.all(joined[1000:] == 0)


def test_a_full_ring_makes_the_producer_wait_until_cancelled():
    ring = BlockRing(B, 2)
    assert ring.put(np.zeros(B)) and ring.put(np.zeros(B))
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    assert not ring.put(np.zeros(B), cancel=cancel)
    assert ring.get_nowait() is not None and ring.put(np.zeros(B), timeout=0.1)


def test_null_sink_drives_the_same_callback_and_records_the_blocks():
    mixer = make_mixer()
    mixer.play(piece_of(numbered_blocks(8)))
    sink = NullAudioSink(mixer.callback, SR, B, speed=math.inf, record=True, record_limit=32)
    sink.start()
    deadline = time.monotonic() + 5
    while len(sink.blocks) < 32 and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    recorded = sink.recorded()
    assert len(sink.blocks) == 32 and sink.blocks_consumed >= 32
    assert np.allclose(recorded[:8 * B].reshape(8, B), np.array(numbered_blocks(8)))
    assert np.all(recorded[8 * B:] == 0.0)


def test_null_sink_runs_at_real_time_pace():
    mixer = make_mixer()
    sink = NullAudioSink(mixer.callback, SR, B)
    sink.start()
    time.sleep(0.3)
    sink.close()
    expected = 0.3 * SR / B  # about 26 blocks
    assert 0.5 * expected <= sink.blocks_consumed <= 1.5 * expected + 2


# ---------------------------------------------------------------------------- the player
class FakeStream:
    """Stands in for a sounddevice stream in the device-management tests."""

    alive_value = True

    def __init__(self, callback):
        self.callback = callback


def test_missing_device_falls_back_to_the_null_sink_and_retries(monkeypatch):
    attempts = []

    def prepare(self):
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise AudioDeviceError("no sound card was found")
        self.description = "fake card"

    monkeypatch.setattr(audio_player.SoundDeviceOutput, "prepare", prepare)
    monkeypatch.setattr(audio_player.SoundDeviceOutput, "start", lambda self: None)
    alive = {"value": True}
    monkeypatch.setattr(audio_player.SoundDeviceOutput, "alive",
                        property(lambda self: alive["value"]))
    statuses = []
    config = AudioOutputConfig(block_size=B, retry_s=0.1)
    player = AudioPlayer(config, SR, on_status=lambda s, m: statuses.append((s, m)))
    player.start()
    try:
        assert statuses[0] == (AudioState.NO_DEVICE, "No sound device (no sound card was "
                                                     "found), retrying every 0.1 s.")
        assert isinstance(player.output, NullAudioSink)
        deadline = time.monotonic() + 5
        while player.state != AudioState.DEVICE and time.monotonic() < deadline:
            time.sleep(0.02)
        assert player.state == AudioState.DEVICE and len(attempts) == 3
        assert statuses[-1] == (AudioState.DEVICE, "Sound: fake card.")
        alive["value"] = False  # the card is unplugged
        attempts.clear()

        def fail(self):
            attempts.append(1)
            raise AudioDeviceError("device unavailable")

        monkeypatch.setattr(audio_player.SoundDeviceOutput, "prepare", fail)
        deadline = time.monotonic() + 5
        while player.state != AudioState.NO_DEVICE and time.monotonic() < deadline:
            time.sleep(0.02)
        assert player.state == AudioState.NO_DEVICE
        assert isinstance(player.output, NullAudioSink) and player.output.alive
    finally:
        player.close()


def test_player_streams_written_pieces_through_the_null_sink_in_order():
    config = AudioOutputConfig(block_size=B, device="none", crossfade_seconds=0.0,
                               volume=1.0, limit=1.0)
    player = AudioPlayer(config, SR, null_speed=math.inf, record=True)
    writer = player.begin_piece()
    audio = (np.arange(40 * B) % 1000 / 2000.0).astype(np.float32)
    for start in range(0, audio.size, 1000):  # odd-sized chunks, as a vocoder yields them
        writer.write(audio[start:start + 1000])
    writer.finish()
    player.start()
    try:
        deadline = time.monotonic() + 5
        while not writer.piece.finished and time.monotonic() < deadline:
            time.sleep(0.01)
        assert player.state == AudioState.NO_DEVICE
        recorded = player.output.recorded()
    finally:
        player.close()
    start = int(np.argmax(recorded != 0)) - 1  # audio[0] is 0; silence may come before
    assert start % B == 0
    body = recorded[start:start + audio.size]
    fade = player.mixer._end_fade.size
    assert np.allclose(body[1:audio.size - fade], audio[1:audio.size - fade])


ALSA_NULL = 'pcm.!default { type plug; slave.pcm "nullsink" }\npcm.nullsink { type null }\n'
SOUNDDEVICE_SCRIPT = """
import time, numpy as np
from installation.audio_player import AudioPlayer, AudioState, SoundDeviceOutput
from installation.config import AudioOutputConfig
states = []
player = AudioPlayer(AudioOutputConfig(volume=1.0, limit=1.0, crossfade_seconds=0.0), 22050,
                     on_status=lambda s, m: states.append((s, m)))
player.start()
writer = player.play_samples(np.full(22050, 0.5, np.float32))
deadline = time.monotonic() + 10
while not writer.piece.finished and time.monotonic() < deadline:
    time.sleep(0.01)
ok = (states[0][0] == AudioState.DEVICE and isinstance(player.output, SoundDeviceOutput)
      and writer.piece.played >= 22050 and player.mixer.stats.underflows == 0)
player.close()
print("OK" if ok else f"FAILED {states} {writer.piece}")
"""


def test_a_real_portaudio_stream_drives_the_callback(tmp_path):
    """PortAudio with ALSA's null device (an .asoundrc in a private HOME): the real
    sounddevice OutputStream calls the mixer callback."""
    import subprocess
    import sys
    from pathlib import Path

    try:
        import sounddevice  # noqa: F401
    except OSError:
        pytest.skip("PortAudio (Debian libportaudio2) is not installed")
    (tmp_path / ".asoundrc").write_text(ALSA_NULL, encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", SOUNDDEVICE_SCRIPT], cwd=repo,
                            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
                                 "PYTHONPATH": str(repo)},
                            capture_output=True, text=True, timeout=60)
    if "no sound card was found" in result.stdout + result.stderr:
        pytest.skip("ALSA's null device is not available here")
    assert result.stdout.strip().endswith("OK"), result.stdout + result.stderr[-2000:]


def test_underflows_while_music_is_still_coming_are_logged_and_playback_goes_on(caplog):
    config = AudioOutputConfig(block_size=B, device="none", crossfade_seconds=0.0,
                               volume=1.0, limit=1.0)
    player = AudioPlayer(config, SR)  # the silent sink at real-time pace
    writer = player.begin_piece()
    writer.write(np.full(B, 0.1, np.float32))  # one block, then the vocoder "stalls"
    caplog.set_level("WARNING", logger="installation.audio_player")
    player.start()
    try:
        deadline = time.monotonic() + 5
        while "Audio underflow" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert player.mixer.stats.underflows > 0
        assert writer.piece.underflows > 0 and not writer.piece.finished
        assert "block(s) played as silence while music was still being generated" in caplog.text
        writer.write(np.full(4 * B, 0.2, np.float32))  # the producer catches up
        writer.finish()
        deadline = time.monotonic() + 5
        while not writer.piece.finished and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.piece.finished and player.output.alive  # never crashed
    finally:
        player.close()
