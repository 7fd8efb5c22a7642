"""The audio callback's work: pieces in, one limited mono signal out.

Other threads talk to the mixer only through a command deque; ``render`` (called from the audio
callback, or from ``NullAudioSink``'s thread) never waits and never logs. A new piece becomes
audible on the first render after its first block has arrived; from that sample on, over
``crossfade_samples``, it rises with ``sin(π/2·t)`` while every older piece falls with
``cos(π/2·t)`` — equal power, ``sin² + cos² = 1``. A piece whose ring is empty before its
producer closed it plays silence and counts one underflow per render; the last block of a
piece (ended or cancelled) gets a short ``end_fade_samples`` fade so it never clicks.

A streamed piece carries a `PrerollGate` (installation/preroll.py): it starts only once its
buffered audio covers what is still to be generated at the measured rate, so it does not run dry.
If it still does, the block before the gap fades out over ``end_fade_samples`` and the first
block after it fades back in, instead of a hard cut.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from installation.limiter import PeakLimiter
from installation.preroll import PrerollGate
from installation.ring_buffer import BlockRing

_piece_ids = itertools.count(1)


@dataclass
class Piece:
    """One piece of music as the mixer sees it; its producer fills ``ring``."""

    ring: BlockRing
    id: int = field(default_factory=lambda: next(_piece_ids))
    played: int = 0
    """Samples of this piece rendered so far (read by the UI for the playhead)."""
    underflows: int = 0
    finished: bool = False
    """True once its ring was drained or it faded out completely."""
    gate: PrerollGate | None = None
    """When the piece may start (None: on its first block)."""
    dry_fades: int = 0
    """Times the piece ran dry mid-way and was faded out and back in."""
    requested_at: float | None = None
    """When the visitor asked for it (time.monotonic), for the log."""
    audible_at: float | None = None
    """When its first sample was rendered (time.monotonic; set by the render thread)."""

    def may_start(self) -> bool:
        ring = self.ring
        if len(ring) == 0:
            return False
        if self.gate is None or len(ring) >= ring.capacity - 1:  # a full ring cannot wait
            return True
        return self.gate.ready(len(ring) * ring.block_size, ring.closed)


class _Voice:
    """A piece being played, with its gain ramp."""

    def __init__(self, piece: Piece, end_fade: np.ndarray) -> None:
        self.piece = piece
        self.end_fade = end_fade
        self.block: np.ndarray | None = None
        self.offset = 0
        self.gain = 0.0
        self.ramp_from = 0.0
        self.ramp_to = 0.0
        self.ramp_len = 0
        self.ramp_pos = 0
        self.ramp_shape = "sin"
        self.dry = False
        """The block before was faded out because nothing followed it yet."""

    def start_ramp(self, target: float, length: int, shape: str) -> None:
        self.ramp_from, self.ramp_to = self.gain, target
        self.ramp_len, self.ramp_pos, self.ramp_shape = max(0, length), 0, shape
        if self.ramp_len == 0:
            self.gain = target

    def envelope(self, n: int) -> np.ndarray:
        """Gains for the next ``n`` samples; advances the ramp."""
        if self.ramp_pos >= self.ramp_len:
            return np.full(n, self.gain, dtype=np.float32)
        positions = np.minimum(self.ramp_pos + np.arange(n), self.ramp_len).astype(np.float64)
        t = positions / self.ramp_len
        # "sin": the rising half of an equal-power crossfade; "cos": the falling half
        rising = self.ramp_shape == "sin"
        curve = np.sin(0.5 * math.pi * t) if rising else 1.0 - np.cos(0.5 * math.pi * t)
        gains = self.ramp_from + (self.ramp_to - self.ramp_from) * curve
        self.ramp_pos = min(self.ramp_pos + n, self.ramp_len)
        if self.ramp_pos >= self.ramp_len:
            self.gain = self.ramp_to
        else:
            self.gain = float(gains[-1])
        return gains.astype(np.float32)

    @property
    def silent(self) -> bool:
        return self.ramp_pos >= self.ramp_len and self.gain <= 0.0

    def read(self, n: int) -> tuple[np.ndarray, int, bool]:
        """``n`` samples of the piece (silence where there is no data), how many of them came
        from the piece, and whether it underflowed."""
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        ring = self.piece.ring
        while filled < n:
            if self.block is None or self.offset >= self.block.size:
                self.block, self.offset = ring.get_nowait(), 0
                if self.block is not None and self.end_fade.size:
                    self.block = self._faded(self.block, ring)
                if self.block is None:
                    if ring.drained:
                        self.piece.finished = True
                        return out, filled, False
                    return out, filled, True
            take = min(n - filled, self.block.size - self.offset)
            out[filled:filled + take] = self.block[self.offset:self.offset + take]
            self.offset += take
            filled += take
        return out, filled, False

    def _faded(self, block: np.ndarray, ring: BlockRing) -> np.ndarray:
        """`block` with a fade-in after a gap and a fade-out before one (or at the end)."""
        fade = self.end_fade[-block.size:]
        last = len(ring) == 0
        if not (self.dry or last):
            return block
        block = block.copy()
        if self.dry:  # music again after a gap: rise instead of a click
            block[:fade.size] *= fade[::-1]
        if last:  # the last block (ended) or nothing after it yet (running dry): fall
            block[-fade.size:] *= fade
        self.dry = last and not ring.drained
        if self.dry:
            self.piece.dry_fades += 1
        return block


@dataclass
class MixerStats:
    blocks_rendered: int = 0
    samples_rendered: int = 0
    underflows: int = 0
    device_status_flags: int = 0
    """Renders on which the sound device reported its own over/underflow."""
    render_errors: int = 0
    """Callbacks that failed and played silence instead (logged by the player)."""


class Mixer:
    def __init__(self, sample_rate: int = 22050, crossfade_seconds: float = 2.0,
                 fade_out_seconds: float = 3.0, volume: float = 0.8, limit: float = 0.89,
                 channels: int = 1, end_fade_samples: int = 256) -> None:
        self.sample_rate = sample_rate
        self.crossfade_samples = round(crossfade_seconds * sample_rate)
        self.fade_out_samples = round(fade_out_seconds * sample_rate)
        self.channels = channels
        self._end_fade = np.cos(0.5 * np.pi * np.arange(1, end_fade_samples + 1)
                                / end_fade_samples).astype(np.float32)
        self.limiter = PeakLimiter(limit, sample_rate)
        self.stats = MixerStats()
        self._commands: deque[tuple] = deque()
        self._pending: Piece | None = None
        self._voices: list[_Voice] = []
        self._volume = float(np.clip(volume, 0.0, 1.0))
        self._target_volume = self._volume
        self.now_playing: Piece | None = None
        """The newest audible piece (set by the render thread, read by the UI)."""

    # -- any thread ---------------------------------------------------------------------------
    def play(self, piece: Piece) -> None:
        """Queues ``piece``; it crossfades in as soon as its first block is there."""
        self._commands.append(("play", piece))

    def fade_out(self) -> None:
        """Fades every piece out over ``fade_out_samples`` (the visitor has left)."""
        self._commands.append(("fade_out", None))

    def set_volume(self, volume: float) -> None:
        self._commands.append(("volume", float(np.clip(volume, 0.0, 1.0))))

    @property
    def volume(self) -> float:
        return self._target_volume

    # -- render thread ------------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time_info=None, status=None) -> None:
        """sounddevice ``OutputStream`` callback signature; fills ``outdata[frames, channels]``."""
        if status:
            self.stats.device_status_flags += 1
        try:
            outdata[:] = self.render(frames)[:, None]
        except Exception:  # a bug here must not stop the stream: silence, counted, logged later
            outdata.fill(0.0)
            self.stats.render_errors += 1

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` output samples (float32 mono, |x| < limit)."""
        self._apply_commands()
        if self._pending is not None and self._pending.may_start():
            self._start_pending()
        mix = np.zeros(n, dtype=np.float32)
        for voice in self._voices:
            samples, real, underflow = voice.read(n)
            if underflow:
                voice.piece.underflows += 1
                self.stats.underflows += 1
            mix += samples * voice.envelope(n)
            voice.piece.played += real
        for voice in [v for v in self._voices if v.silent or v.piece.finished]:
            voice.piece.finished = True
            self._voices.remove(voice)
        mix *= self._volume_ramp(n)
        out = self.limiter.process(mix)
        self.stats.blocks_rendered += 1
        self.stats.samples_rendered += n
        return out

    def _apply_commands(self) -> None:
        while self._commands:
            kind, value = self._commands.popleft()
            if kind == "play":
                if self._pending is not None:
                    self._pending.finished = True  # replaced before it made a sound
                self._pending = value
            elif kind == "fade_out":
                if self._pending is not None:
                    self._pending.finished = True
                    self._pending = None
                for voice in self._voices:
                    voice.start_ramp(0.0, self.fade_out_samples, "cos")
            elif kind == "volume":
                self._target_volume = value

    def _start_pending(self) -> None:
        piece, self._pending = self._pending, None
        for voice in self._voices:
            voice.start_ramp(0.0, self.crossfade_samples, "cos")
        piece.audible_at = time.monotonic()
        voice = _Voice(piece, self._end_fade)
        voice.start_ramp(1.0, self.crossfade_samples if self._voices else 0, "sin")
        self._voices.append(voice)
        self.now_playing = piece

    def _volume_ramp(self, n: int) -> np.ndarray | float:
        if self._volume == self._target_volume:
            return self._volume
        ramp = np.linspace(self._volume, self._target_volume, n, dtype=np.float32)
        self._volume = self._target_volume
        return ramp
