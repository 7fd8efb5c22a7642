"""Renders MIDI to a mono clip with the FluidSynth command line and the FluidR3 GM soundfont."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from core.audio_config import DEFAULT_AUDIO, AudioConfig
from training.corpora.config import SOUNDFONT

DEFAULT_GAIN = 1.5
"""FluidSynth master gain: ff rock lands near −14 dBFS RMS, pp celesta near −45 dBFS."""
FADE_SECONDS = 0.05
PEAK_LIMIT = 0.98


class SynthError(RuntimeError):
    """FluidSynth or its soundfont is missing, or a render failed."""


def check_synth(soundfont: Path = SOUNDFONT) -> None:
    """Raises SynthError with the fix when the fluidsynth CLI or the soundfont is absent."""
    if shutil.which("fluidsynth") is None:
        raise SynthError("fluidsynth is not installed; run `apt-get install fluidsynth`.")
    if not soundfont.is_file():
        raise SynthError(f"soundfont {soundfont} is missing; run `apt-get install fluid-soundfont-gm`.")


def fit_clip(stereo_or_mono: np.ndarray, samples: int, sample_rate: int) -> tuple[np.ndarray, float]:
    """Mono, exactly `samples` long, short fade-out, peaks above 0.98 scaled down.

    Returns the clip and the gain applied by the peak limiter (1.0 when none was needed).
    """
    audio = np.asarray(stereo_or_mono, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    audio = np.pad(audio[:samples], (0, max(0, samples - audio.size)))
    fade = int(FADE_SECONDS * sample_rate)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    gain = PEAK_LIMIT / peak if peak > PEAK_LIMIT else 1.0
    return audio * gain, gain


def render_midi(midi: mido.MidiFile, wav_path: Path, config: AudioConfig = DEFAULT_AUDIO,
                gain: float = DEFAULT_GAIN, soundfont: Path = SOUNDFONT) -> float:
    """Renders `midi` to a 16-bit mono WAV of exactly `config.clip_samples` samples.

    Returns the peak-limiter gain (1.0 = untouched level).
    """
    check_synth(soundfont)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corpora-synth-") as tmp:
        mid, raw = Path(tmp) / "piece.mid", Path(tmp) / "piece.wav"
        midi.save(mid)
        command = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(config.sample_rate),
                   "-F", str(raw), str(soundfont), str(mid)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not raw.is_file():
            raise SynthError(f"fluidsynth failed on {wav_path.name}: {result.stderr.strip()[:200]}")
        audio, rate = sf.read(raw, dtype="float32")
    if rate != config.sample_rate:
        raise SynthError(f"fluidsynth wrote {rate} Hz instead of {config.sample_rate} Hz.")
    clip, limiter = fit_clip(audio, config.clip_samples, config.sample_rate)
    tmp_path = wav_path.with_suffix(".tmp.wav")
    sf.write(tmp_path, clip, config.sample_rate, subtype="PCM_16")
    tmp_path.replace(wav_path)
    return limiter
