"""Does a piece move like music, or drone / flicker like noise? The yardstick of issue 9.

Measures of one piece, computed the same way for generated pieces and real clips, from its
waveform (mono float, 22 050 Hz) and its natural-log Mel [80, frames] (``core.mel.log_mel``; for
a generated piece, the decoder's own Mel):

=====================  ===========================================================================
spectral_flux          mean_{m,t} |L[m, t+1] − L[m, t]| of the natural-log Mel L, nats per frame
smoothed_flux          the same over 0.1 s (9 frames) of the 9-frame moving average of L, nats
band_change            share of frames whose loudest Mel band differs from the previous frame's
onset_strength         mean of ``librosa.onset.onset_strength`` of the audio (librosa defaults:
                       n_fft 2048, hop 512, 128-band dB Mel, positive first difference)
onset_autocorrelation  max over lags 0.25–1.5 s of the normalised autocorrelation
                       ``r(k) = Σ_t o'_t o'_{t+k} / Σ_t o'_t²`` of that onset envelope, o' = o − mean
chroma_change          share of frames whose chroma argmax (``librosa.feature.chroma_stft``,
                       n_fft 1024, hop 256) differs from the previous frame's
pitch_class_entropy    entropy in bits of the histogram of per-frame chroma argmax (the dominant
                       pitch class): 0 for one note held, log2(3) for a triad arpeggio, at most
                       log2(12) = 3.58
spectral_flatness      mean of ``librosa.feature.spectral_flatness`` (n_fft 1024, hop 256)
=====================  ===========================================================================

Scales, checked against the numbers of issue 9 and MODEL_NOTES.md on ten test-split clips of the
data set (10.4 s each) and on white noise: both fluxes are on the **natural-log** Mel (nats), not
the normalised one of ``core.mel.normalize`` (which is nats × 2 / (log_max − log_min) ≈ 0.143 ×
nats inside its range). Real clips gave flux 0.30 / smoothed 0.44 / onset 1.16 / autocorrelation
0.47 / chroma change 0.33 / entropy 2.50 bits, white noise 0.267 / 0.160 / 0.87 / 0.08 / 0.71 /
3.33 — issue 9's table (0.275 / – / 1.18 / 0.45 / 0.34 / 2.67; noise 0.267 / 0.160 / 0.87 / 0.08
/ 0.67 / 3.2). The other candidates for the entropy do not fit it: the entropy of the
time-summed chroma is 3.47 bits for real music and 2.3 for a steady two-tone drone, the mean
per-frame chroma entropy 3.18 and 2.3.

Read onset_autocorrelation beside onset_strength: a perfectly stationary synthetic tone has a
near-zero but periodic onset envelope (beating of its partials) whose normalised autocorrelation
can be high.

Painting-dependence of a sampled decoder (MODEL_NOTES, "needs a new yardstick once the decoder
samples"): two seeds of one painting no longer line up frame by frame, so pieces are compared by
piece-level descriptors — the long-term spectrum (time mean of the normalised Mel) and the chroma
histogram — between paintings and between seeds of one painting (:func:`painting_dependence`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import librosa
import numpy as np

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import log_mel as compute_log_mel
from core.mel import normalize

SMOOTHING_FRAMES = 9
"""Width of the moving average before the smoothed flux (MODEL_NOTES: the 9-frame smoothed Mel)."""
SMOOTHED_LAG_SECONDS = 0.1
"""The smoothed flux compares frames this far apart (9 frames at hop 256 / 22 050 Hz)."""
AUTOCORRELATION_LAGS = (0.25, 1.5)
"""Lag range in seconds of the onset-envelope autocorrelation peak (beat periods 40–240 BPM)."""
ONSET_HOP = 512
"""librosa's default onset-strength hop, the one issue 9's onset numbers were measured with."""


@dataclass(frozen=True)
class MusicalityMeasures:
    """The musicality measures of one piece (definitions: module docstring and DEFINITIONS).

    Audio measures are NaN when only a Mel was given; onset_autocorrelation is NaN for a piece
    shorter than the smallest lag.
    """

    spectral_flux: float
    smoothed_flux: float
    onset_strength: float
    chroma_change: float
    pitch_class_entropy: float
    onset_autocorrelation: float
    spectral_flatness: float
    band_change: float

    def to_dict(self) -> dict[str, float | None]:
        """Plain floats, NaN as None (valid JSON)."""
        return {k: (None if math.isnan(v) else float(v)) for k, v in asdict(self).items()}


MEASURES: tuple[str, ...] = tuple(f.name for f in fields(MusicalityMeasures))
AUDIO_MEASURES: tuple[str, ...] = ("onset_strength", "chroma_change", "pitch_class_entropy",
                                   "onset_autocorrelation", "spectral_flatness")
"""The measures taken on the audio (the rest are taken on the log-Mel)."""

DEFINITIONS: dict[str, str] = {
    "spectral_flux": "nats/frame: mean |Δ| of the natural-log Mel between consecutive frames",
    "smoothed_flux": "nats: mean |Δ| over 0.1 s (9 frames) of the 9-frame moving average of the "
                     "natural-log Mel",
    "onset_strength": "mean of librosa.onset.onset_strength of the audio (librosa defaults, hop "
                      "512)",
    "chroma_change": "share of frames whose chroma_stft argmax (n_fft 1024, hop 256) changes",
    "pitch_class_entropy": "bits: entropy of the histogram of per-frame chroma argmax",
    "onset_autocorrelation": "max over lags 0.25-1.5 s of the normalised autocorrelation of the "
                             "mean-removed onset envelope",
    "spectral_flatness": "mean of librosa.feature.spectral_flatness (n_fft 1024, hop 256)",
    "band_change": "share of frames whose loudest Mel band changes",
}
"""One line per measure, written into every musicality.json."""

ISSUE_9_REFERENCE: dict[str, dict[str, float]] = {
    "kiosk output, no comment (bundle of issue 9)": {
        "spectral_flux": 0.014, "onset_strength": 0.23, "chroma_change": 0.034,
        "pitch_class_entropy": 0.46, "onset_autocorrelation": 0.12},
    "real music (ten corpus clips)": {
        "spectral_flux": 0.275, "onset_strength": 1.18, "chroma_change": 0.34,
        "pitch_class_entropy": 2.67, "onset_autocorrelation": 0.45},
    "white noise": {
        "spectral_flux": 0.267, "smoothed_flux": 0.160, "onset_strength": 0.87,
        "chroma_change": 0.67, "pitch_class_entropy": 3.2, "onset_autocorrelation": 0.08},
}
"""Issue 9's table (and MODEL_NOTES' smoothed flux of noise): context for a report."""

ISSUE_9_TARGETS: dict[str, float] = {
    "spectral_flux": 0.14, "onset_strength": 0.7, "chroma_change": 0.14,
    "pitch_class_entropy": 1.5, "onset_autocorrelation": 0.3,
}
"""Issue 9's "done when" minimums (flatness: within ±50 % of real music's)."""


# ---------------------------------------------------------------------------------------------
# Mel measures
# ---------------------------------------------------------------------------------------------

def spectral_flux(log_mel: np.ndarray) -> float:
    """Mean absolute frame-to-frame change of a natural-log Mel [n_mels, T], nats per frame."""
    mel = np.asarray(log_mel, dtype=np.float64)
    return float(np.abs(np.diff(mel, axis=1)).mean()) if mel.shape[1] > 1 else math.nan


def smoothed_flux(log_mel: np.ndarray, config: AudioConfig = DEFAULT_AUDIO,
                  frames: int = SMOOTHING_FRAMES, seconds: float = SMOOTHED_LAG_SECONDS) -> float:
    """Change over ``seconds`` of the ``frames``-frame moving average of a natural-log Mel, nats.

    ``S[m, t] = mean_{j<frames} L[m, t+j]`` (full windows only), then
    ``mean_{m,t} |S[m, t+lag] − S[m, t]|`` with ``lag = round(seconds · sr / hop)`` frames.
    Flicker from frame to frame averages away; movement at the scale of notes does not.
    """
    mel = np.asarray(log_mel, dtype=np.float64)
    lag = max(1, round(seconds * config.sample_rate / config.hop_length))
    if mel.shape[1] < frames + lag:
        return math.nan
    cumulative = np.cumsum(np.pad(mel, ((0, 0), (1, 0))), axis=1)
    smooth = (cumulative[:, frames:] - cumulative[:, :-frames]) / frames
    return float(np.abs(smooth[:, lag:] - smooth[:, :-lag]).mean())


def band_change(log_mel: np.ndarray) -> float:
    """Share of frame transitions where the loudest Mel band changes."""
    loudest = np.argmax(np.asarray(log_mel), axis=0)
    return float(np.mean(loudest[1:] != loudest[:-1])) if loudest.size > 1 else math.nan


# ---------------------------------------------------------------------------------------------
# Audio measures
# ---------------------------------------------------------------------------------------------

def onset_envelope(audio: np.ndarray, sample_rate: int = DEFAULT_AUDIO.sample_rate) -> np.ndarray:
    """librosa's onset strength envelope with its defaults (hop ``ONSET_HOP``)."""
    return librosa.onset.onset_strength(y=np.asarray(audio, dtype=np.float32), sr=sample_rate,
                                        hop_length=ONSET_HOP)


def onset_autocorrelation_curve(envelope: np.ndarray, sample_rate: int = DEFAULT_AUDIO.sample_rate,
                                hop_length: int = ONSET_HOP,
                                lags: tuple[float, float] = AUTOCORRELATION_LAGS
                                ) -> tuple[np.ndarray, np.ndarray]:
    """(lags in seconds, r(lag)) over ``lags`` of the normalised autocorrelation.

    ``r(k) = Σ_t o'_t o'_{t+k} / Σ_t o'_t²`` with ``o' = o − mean(o)`` (the biased estimate, so
    r(0) = 1 and |r| ≤ 1). Empty when the envelope is shorter than the smallest lag; zeros when
    it is constant.
    """
    centred = np.asarray(envelope, dtype=np.float64) - np.mean(envelope)
    first = math.ceil(lags[0] * sample_rate / hop_length)
    last = min(math.floor(lags[1] * sample_rate / hop_length), centred.size - 1)
    if last < first:
        return np.zeros(0), np.zeros(0)
    energy = float(centred @ centred)
    steps = np.arange(first, last + 1)
    if energy <= 1e-12 * max(centred.size, 1):
        return steps * hop_length / sample_rate, np.zeros(steps.size)
    values = np.array([centred[:-k] @ centred[k:] for k in steps]) / energy
    return steps * hop_length / sample_rate, values


def onset_autocorrelation(audio: np.ndarray, sample_rate: int = DEFAULT_AUDIO.sample_rate
                          ) -> float:
    """Peak of :func:`onset_autocorrelation_curve` of the audio's onset envelope (NaN if short)."""
    _, values = onset_autocorrelation_curve(onset_envelope(audio, sample_rate), sample_rate)
    return float(values.max()) if values.size else math.nan


def chroma(audio: np.ndarray, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """``librosa.feature.chroma_stft`` [12, frames] with the project's n_fft and hop."""
    return librosa.feature.chroma_stft(y=np.asarray(audio, dtype=np.float32),
                                       sr=config.sample_rate, n_fft=config.n_fft,
                                       hop_length=config.hop_length)


def chroma_change(chromagram: np.ndarray) -> float:
    """Share of frame transitions where the dominant pitch class (chroma argmax) changes."""
    dominant = np.argmax(chromagram, axis=0)
    return float(np.mean(dominant[1:] != dominant[:-1])) if dominant.size > 1 else math.nan


def pitch_class_entropy(chromagram: np.ndarray) -> float:
    """Entropy in bits of how often each pitch class dominates a frame (chroma argmax histogram).

    ``H = −Σ_c p_c log2 p_c``, ``p_c`` = share of frames whose chroma argmax is c: 0 for a held
    note, log2(3) ≈ 1.58 for an arpeggio of three notes of equal length, log2(12) at most.
    """
    dominant = np.argmax(chromagram, axis=0)
    share = np.bincount(dominant, minlength=12) / max(dominant.size, 1)
    share = share[share > 0]
    return float(max(0.0, -(share * np.log2(share)).sum()))


def spectral_flatness(audio: np.ndarray, config: AudioConfig = DEFAULT_AUDIO) -> float:
    """Mean Wiener entropy (geometric / arithmetic mean of the power spectrum) over frames."""
    flatness = librosa.feature.spectral_flatness(y=np.asarray(audio, dtype=np.float32),
                                                 n_fft=config.n_fft, hop_length=config.hop_length)
    return float(flatness.mean())


# ---------------------------------------------------------------------------------------------
# One piece, many pieces
# ---------------------------------------------------------------------------------------------

def _log_mel_of(audio: np.ndarray | None, log_mel: np.ndarray | None,
                config: AudioConfig) -> np.ndarray:
    if log_mel is not None:
        mel = np.asarray(log_mel, dtype=np.float32)
        if mel.ndim != 2 or mel.shape[0] != config.n_mels:
            raise ValueError(f"log-Mel must have shape [{config.n_mels}, frames], got "
                             f"{mel.shape}; pass the natural-log Mel of core.mel.log_mel.")
        return mel
    if audio is None:
        raise ValueError("musicality needs the audio, the log-Mel or both; got neither.")
    return compute_log_mel(audio, config)


def measure(audio: np.ndarray | None = None, log_mel: np.ndarray | None = None,
            config: AudioConfig = DEFAULT_AUDIO) -> MusicalityMeasures:
    """All measures of one piece: Mel measures on ``log_mel`` (natural log [n_mels, T]; computed
    from ``audio`` with core.mel.log_mel when absent), audio measures on ``audio`` (mono float at
    ``config.sample_rate``; NaN when absent)."""
    mel = _log_mel_of(audio, log_mel, config)
    mel_measures = {"spectral_flux": spectral_flux(mel),
                    "smoothed_flux": smoothed_flux(mel, config),
                    "band_change": band_change(mel)}
    if audio is None:
        audio_measures = dict.fromkeys(AUDIO_MEASURES, math.nan)
    else:
        wave = np.asarray(audio, dtype=np.float32)
        envelope = onset_envelope(wave, config.sample_rate)
        _, autocorrelation = onset_autocorrelation_curve(envelope, config.sample_rate)
        chromagram = chroma(wave, config)
        audio_measures = {
            "onset_strength": float(envelope.mean()),
            "chroma_change": chroma_change(chromagram),
            "pitch_class_entropy": pitch_class_entropy(chromagram),
            "onset_autocorrelation": (float(autocorrelation.max()) if autocorrelation.size
                                      else math.nan),
            "spectral_flatness": spectral_flatness(wave, config),
        }
    return MusicalityMeasures(**mel_measures, **audio_measures)


def aggregate(measures: Sequence[MusicalityMeasures]) -> dict[str, dict[str, float | int | None]]:
    """Per measure over many pieces: mean, std (population) and count, NaNs left out."""
    summary: dict[str, dict[str, float | int | None]] = {}
    for name in MEASURES:
        values = np.array([getattr(m, name) for m in measures], dtype=np.float64)
        values = values[~np.isnan(values)]
        summary[name] = {"mean": float(values.mean()) if values.size else None,
                         "std": float(values.std()) if values.size else None,
                         "count": int(values.size)}
    return summary


# ---------------------------------------------------------------------------------------------
# Painting-dependence of pieces that do not line up frame by frame
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PieceDescriptors:
    """Piece-level descriptors that two seeds of one painting can share without lining up.

    ``long_term_spectrum`` [n_mels]: time mean of the normalised Mel (core.mel.normalize, [-1, 1]).
    ``chroma_histogram`` [12]: time-summed chroma_stft divided by its sum (None without audio).
    """

    long_term_spectrum: np.ndarray
    chroma_histogram: np.ndarray | None = None


def describe(audio: np.ndarray | None = None, log_mel: np.ndarray | None = None,
             config: AudioConfig = DEFAULT_AUDIO, norm: MelNormalization = DEFAULT_MEL_NORM
             ) -> PieceDescriptors:
    """:class:`PieceDescriptors` of one piece (same inputs as :func:`measure`)."""
    mel = _log_mel_of(audio, log_mel, config)
    spectrum = normalize(mel, norm).astype(np.float64).mean(axis=1)
    histogram = None
    if audio is not None:
        summed = chroma(audio, config).astype(np.float64).sum(axis=1)
        histogram = summed / summed.sum() if summed.sum() > 0 else np.full(12, 1 / 12)
    return PieceDescriptors(spectrum, histogram)


def descriptor_distances(a: PieceDescriptors, b: PieceDescriptors) -> dict[str, float]:
    """``long_term_spectrum``: mean |Δ| over Mel bands (normalised-Mel units, as MODEL_NOTES);
    ``chroma_histogram``: total variation ½ Σ_c |Δp_c| in [0, 1] (when both have one)."""
    distances = {"long_term_spectrum": float(np.abs(a.long_term_spectrum
                                                    - b.long_term_spectrum).mean())}
    if a.chroma_histogram is not None and b.chroma_histogram is not None:
        distances["chroma_histogram"] = float(0.5 * np.abs(a.chroma_histogram
                                                           - b.chroma_histogram).sum())
    return distances


@dataclass
class PaintingDependence:
    """Mean descriptor distance between pieces of different paintings and between pieces (seeds)
    of one painting, per descriptor; ``ratio`` = between / within (> 1: the painting matters
    more than the seed). ``within`` and ``ratio`` are None with one piece per painting."""

    between: dict[str, float]
    within: dict[str, float | None]
    ratio: dict[str, float | None]
    paintings: int
    pieces: int
    pairs_between: int
    pairs_within: int

    def to_dict(self) -> dict:
        return asdict(self)


def painting_dependence(pieces: Mapping[str, Sequence[PieceDescriptors]]
                        | Sequence[Sequence[PieceDescriptors]]) -> PaintingDependence:
    """Compares every pair of pieces: pairs from different paintings ("between") against pairs
    from the same painting ("within", e.g. two seeds).

    ``pieces``: for each painting, the descriptors (:func:`describe`) of its pieces — a mapping
    painting → list, or a list of lists.
    """
    groups = list(pieces.values()) if isinstance(pieces, Mapping) else list(pieces)
    flat = [(g, item) for g, group in enumerate(groups) for item in group]
    between: dict[str, list[float]] = {}
    within: dict[str, list[float]] = {}
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            target = within if flat[i][0] == flat[j][0] else between
            for key, value in descriptor_distances(flat[i][1], flat[j][1]).items():
                target.setdefault(key, []).append(value)
    mean_between = {k: float(np.mean(v)) for k, v in between.items()}
    mean_within: dict[str, float | None] = {k: float(np.mean(within[k])) if within.get(k)
                                            else None for k in mean_between}
    ratio = {k: (mean_between[k] / mean_within[k] if mean_within[k] else None)
             for k in mean_between}
    return PaintingDependence(
        between=mean_between, within=mean_within, ratio=ratio, paintings=len(groups),
        pieces=len(flat), pairs_between=len(next(iter(between.values()), [])),
        pairs_within=len(next(iter(within.values()), [])))
