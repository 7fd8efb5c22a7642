"""Gapless playback: a sound-device stream (or a stand-in sink) driven by the mixer callback.

``AudioPlayer`` owns one ``Mixer``. Producers get a ``PieceWriter`` from ``begin_piece`` and write
audio chunks of any length; the writer cuts them into fixed-size blocks in the piece's ring,
and the piece starts on the first block. Output goes to a sounddevice ``OutputStream``; when
there is no device (no PortAudio, no sound card, device unplugged) the same callback is driven
by ``NullAudioSink`` at real-time pace, the status says so, and the device is looked for again
every ``retry_s`` seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from installation.config import AudioOutputConfig
from installation.mixer import Mixer, Piece
from installation.preroll import PrerollGate
from installation.ring_buffer import BlockRing, Reblocker

log = logging.getLogger(__name__)

Callback = Callable[[np.ndarray, int, object, object], None]
StatusCallback = Callable[[str, str], None]


class AudioState:
    STARTING = "starting"
    DEVICE = "device"
    """Playing on a real sound device."""
    NO_DEVICE = "no-device"
    """No usable device: audio goes to the silent stand-in sink while we retry."""


class AudioDeviceError(RuntimeError):
    """The sound device cannot be opened."""


class PieceWriter:
    """Producer handle of one piece: ``write`` chunks, then ``finish`` (or ``cancel``)."""

    def __init__(self, piece: Piece, block_size: int) -> None:
        self.piece = piece
        self._reblocker = Reblocker(block_size)
        self.cancelled = threading.Event()

    @property
    def id(self) -> int:
        return self.piece.id

    def write(self, chunk: np.ndarray) -> bool:
        """Adds audio; waits while the ring is full. False once the piece was cancelled."""
        ring = self.piece.ring
        for block in self._reblocker.push(chunk):
            if not ring.put(block, cancel=self.cancelled):
                return False
        if self.piece.gate is not None:
            self.piece.gate.record(ring.blocks_put * ring.block_size)
        return not self.cancelled.is_set()

    def finish(self) -> None:
        if not self.cancelled.is_set():
            for block in self._reblocker.flush():
                self.piece.ring.put(block, cancel=self.cancelled)
        self.piece.ring.close()

    def cancel(self) -> None:
        self.cancelled.set()
        self.piece.ring.close()


class Output(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...

    @property
    def alive(self) -> bool: ...


class SoundDeviceOutput:
    """A sounddevice ``OutputStream`` (float32, ``block_size`` frames per callback)."""

    def __init__(self, callback: Callback, sample_rate: int, block_size: int, channels: int,
                 device: str | int | None) -> None:
        self.callback, self.sample_rate, self.block_size = callback, sample_rate, block_size
        self.channels, self.device = channels, device
        self._stream = None
        self.description = "sound device"

    def prepare(self) -> None:
        """Finds the device and creates the stream (not started); raises AudioDeviceError."""
        try:
            import sounddevice as sd  # needs the PortAudio library (Debian libportaudio2)
        except OSError as error:
            raise AudioDeviceError(f"PortAudio is not installed ({error})") from None
        try:
            _refresh_portaudio(sd)
            if self.device is None and not any(
                    d["max_output_channels"] > 0 for d in sd.query_devices()):
                raise AudioDeviceError("no sound card was found")
            info = sd.query_devices(self.device, "output")
            sd.check_output_settings(self.device, channels=self.channels, dtype="float32",
                                     samplerate=self.sample_rate)
            self._stream = sd.OutputStream(
                samplerate=self.sample_rate, blocksize=self.block_size, device=self.device,
                channels=self.channels, dtype="float32", callback=self.callback, latency="high")
        except (sd.PortAudioError, ValueError) as error:
            self.close()
            raise AudioDeviceError(str(error).rstrip(".")) from None
        self.description = str(info.get("name", "sound device"))

    def start(self) -> None:
        if self._stream is None:
            self.prepare()
        self._stream.start()

    @property
    def alive(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as error:  # a vanished device may fail to close; nothing to do
                log.debug("Closing the audio stream failed: %s", error)


def _refresh_portaudio(sd) -> None:
    """PortAudio lists devices once per initialisation; re-initialise to see new ones."""
    try:
        sd._terminate()
        sd._initialize()
    except Exception as error:  # private API: if it changes, we simply keep the old list
        log.debug("Could not re-initialise PortAudio: %s", error)


class NullAudioSink:
    """Drives the callback from a thread as a sound card would, without making a sound.

    ``speed`` 1.0 is real time (``math.inf``: as fast as possible). With ``record`` the first
    ``record_limit`` rendered blocks are kept in ``blocks`` for tests and diagnostics.
    """

    description = "silent output (no sound device)"

    def __init__(self, callback: Callback, sample_rate: int, block_size: int, channels: int = 1,
                 speed: float = 1.0, record: bool = False, record_limit: int = 100_000) -> None:
        self.callback, self.sample_rate, self.block_size = callback, sample_rate, block_size
        self.channels, self.speed = channels, speed
        self.blocks: list[np.ndarray] = []
        self.record_limit = record_limit if record else 0
        self.blocks_consumed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="null-audio", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def recorded(self) -> np.ndarray:
        """All recorded blocks joined (first channel)."""
        if not self.blocks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([block[:, 0] for block in self.blocks])

    def _run(self) -> None:
        period = self.block_size / self.sample_rate / self.speed if self.speed else 0.0
        due = time.monotonic()
        while not self._stop.is_set():
            buffer = np.empty((self.block_size, self.channels), dtype=np.float32)
            try:
                self.callback(buffer, self.block_size, None, None)
            except Exception:
                log.exception("The audio callback failed; playing silence for this block.")
                buffer[:] = 0.0
            self.blocks_consumed += 1
            if len(self.blocks) < self.record_limit:
                self.blocks.append(buffer)
            if math.isfinite(period) and period > 0.0:
                due += period
                now = time.monotonic()
                if due < now - 0.5:
                    due = now
                self._stop.wait(max(0.0, due - now))


class AudioPlayer:
    """The kiosk's one audio output. Thread-safe for one UI thread and one producer thread."""

    def __init__(self, config: AudioOutputConfig, sample_rate: int,
                 on_status: StatusCallback | None = None, use_device: bool = True,
                 null_speed: float = 1.0, record: bool = False) -> None:
        self.config = config
        self.sample_rate = sample_rate
        self.mixer = Mixer(sample_rate, config.crossfade_seconds, config.fade_out_seconds,
                           config.volume, config.limit, config.channels)
        self.state = AudioState.STARTING
        self.on_status = on_status
        self._use_device = use_device and config.device.strip().lower() != "none"
        self._null_speed = null_speed
        self._record = record
        self._output: Output | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._reported_underflows = 0
        self._reported_errors = 0
        self._reported_flags = 0
        self._reported_piece = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._open_output()
        self._supervisor = threading.Thread(target=self._supervise, name="audio-supervisor",
                                            daemon=True)
        self._supervisor.start()

    def close(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=3.0)
        with self._lock:
            if self._output is not None:
                self._output.close()
                self._output = None

    @property
    def output(self) -> Output | None:
        return self._output

    # -- playback (any thread) ----------------------------------------------------------------
    def begin_piece(self, capacity_blocks: int | None = None, total_samples: int = 0,
                    requested_at: float | None = None) -> PieceWriter:
        """A new piece; it replaces the current one (crossfade) once its first block arrives,
        or, for a piece of `total_samples` that is generated while it plays, once its buffered
        audio covers the rest at the measured rate (installation/preroll.py). `requested_at`
        (monotonic) is when the visitor asked for it: the log says how long the first sound
        took."""
        ring = BlockRing(self.config.block_size, capacity_blocks or self.config.buffer_blocks)
        gate = PrerollGate(total_samples, self.sample_rate) if total_samples > 0 else None
        piece = Piece(ring, gate=gate, requested_at=requested_at)
        self.mixer.play(piece)
        return PieceWriter(piece, self.config.block_size)

    def play_samples(self, audio: np.ndarray) -> PieceWriter:
        """Plays a whole clip at once (e.g. "Play again"); never waits."""
        blocks = math.ceil(len(audio) / self.config.block_size) + 1
        writer = self.begin_piece(capacity_blocks=blocks)
        writer.write(audio)
        writer.finish()
        return writer

    def fade_out(self) -> None:
        self.mixer.fade_out()

    def set_volume(self, volume: float) -> None:
        self.mixer.set_volume(volume)

    # -- device management --------------------------------------------------------------------
    def _device(self) -> str | int | None:
        device = self.config.device.strip()  # "none" was handled in __init__
        if not device:
            return None
        return int(device) if device.isdigit() else device

    def _open_output(self) -> None:
        """Switches to the sound device when it can be opened, else to (or stays on) the null
        sink. Only one output ever drives the mixer at a time."""
        reason = "sound output is switched off"
        if self._use_device:
            device = SoundDeviceOutput(self.mixer.callback, self.sample_rate,
                                       self.config.block_size, self.config.channels,
                                       self._device())
            with self._lock:
                if isinstance(self._output, SoundDeviceOutput):
                    self._output.close()  # a dead stream, before PortAudio is re-initialised
                    self._output = None
                try:
                    device.prepare()
                except AudioDeviceError as error:
                    reason = str(error)
                else:
                    if self._output is not None:
                        self._output.close()
                    device.start()
                    self._output = device
            if self._output is device:
                self._set_state(AudioState.DEVICE, f"Sound: {device.description}.")
                return
        with self._lock:
            if not isinstance(self._output, NullAudioSink):
                sink = NullAudioSink(self.mixer.callback, self.sample_rate,
                                     self.config.block_size, self.config.channels,
                                     speed=self._null_speed, record=self._record)
                sink.start()
                self._output = sink
        retry = f", retrying every {self.config.retry_s:g} s" if self._use_device else ""
        self._set_state(AudioState.NO_DEVICE, f"No sound device ({reason}){retry}.")

    def _supervise(self) -> None:
        last_try = time.monotonic()
        while not self._stop.wait(0.5):
            self._log_first_sound()
            self._log_underflows()
            output = self._output
            if output is None:
                continue
            if self.state == AudioState.DEVICE and not output.alive:
                log.warning("The sound device stopped; switching to the silent output.")
                self._open_output()  # tries the device once, else the null sink
                last_try = time.monotonic()
            elif (self.state == AudioState.NO_DEVICE and self._use_device
                  and time.monotonic() - last_try >= self.config.retry_s):
                last_try = time.monotonic()
                self._open_output()

    def _log_first_sound(self) -> None:
        """One line per piece when it became audible (the render thread does not log)."""
        piece = self.mixer.now_playing
        if piece is None or piece.id == self._reported_piece:
            return
        self._reported_piece = piece.id
        gate, started = piece.gate, piece.audible_at
        if started is None:
            return
        since = ("" if piece.requested_at is None
                 else f" {started - piece.requested_at:.2f} s after the request")
        if gate is not None and gate.rate_at_open is not None:
            since += (f" (waited for {gate.buffered_at_open:.1f} s of audio; generating at "
                      f"{gate.rate_at_open:.2f}x real time)")
        log.info("Piece %d first audible%s.", piece.id, since)

    def _log_underflows(self) -> None:
        errors = self.mixer.stats.render_errors
        if errors != self._reported_errors:
            log.error("The audio callback failed %d time(s); silence was played instead.",
                      errors - self._reported_errors)
            self._reported_errors = errors
        flags = self.mixer.stats.device_status_flags
        if flags != self._reported_flags:
            log.warning("The sound device reported %d over/underrun(s) of its own (%d in "
                        "total): the audio callback was late.", flags - self._reported_flags,
                        flags)
            self._reported_flags = flags
        count = self.mixer.stats.underflows
        if count != self._reported_underflows:
            log.warning("Audio underflow: %d block(s) played as silence while music was "
                        "still being generated (%d in total).",
                        count - self._reported_underflows, count)
            self._reported_underflows = count

    def _set_state(self, state: str, message: str) -> None:
        if state != self.state:
            log.info("%s", message)
        self.state = state
        if self.on_status is not None:
            self.on_status(state, message)
