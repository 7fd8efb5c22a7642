"""Table IV of Art2Music: MCD / FAD / LSD / cosine of generated vs reference audio per input mode.

For each input configuration (Sec. IV.A.4: full, text-only = "w/o Image", image-only =
"w/o Text", random = "Baseline") the checkpoint generates a Mel for every evaluated row from
its cached image/text embeddings (``apply_input_mode`` applied once to the whole split with
a fixed seed, so the random baseline does not depend on batching), the vocoder renders it, and

* MCD and Mel-LSD compare the generated log-Mel with the row's target Mel (before vocoding),
* LSD compares the vocoded waveform with the reference clip (STFT power spectra),
* FAD compares the sets of per-3-s-patch musicnn embeddings of all generated and all reference
  clips (one reference clip per row, so both sets have the same weighting),
* cosine averages, over rows, the cosine between the clip embeddings (mean over patches) of the
  generated clip and its reference.

The reference waveform is the row's original audio (``--reference audio``) or the same
vocoder applied to the target Mel (``--reference vocoded``, which removes vocoder artefacts
from the comparison). The embedding model's name is part of every result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

from core.code_bias import broadband_code_bias
from core.mel import denormalize
from training.evaluation import metrics
from training.evaluation.data import (
    EvalRow,
    LoadedModel,
    load_embeddings,
    load_model,
    read_eval_rows,
    reference_audio,
    reference_log_mel,
    select_inputs,
)
from training.evaluation.musicnn import DEFAULT_WEIGHTS, MusicnnEmbedder
from training.evaluation.vocoders import Vocoder, make_vocoder
from training.models import InputMode, apply_input_mode
from training.primers import build_primer_bank, nearest_primers

PAPER_LABELS: dict[InputMode, str] = {
    InputMode.RANDOM: "Baseline",
    InputMode.IMAGE_ONLY: "w/o Text",
    InputMode.TEXT_ONLY: "w/o Image",
    InputMode.FULL: "Full Multimodal Input",
}
"""Row names and order of Table IV."""

PAPER_TABLE_IV: dict[str, dict[str, float]] = {
    "random": {"mcd": 13.94, "fad": 0.83, "lsd": 11.61, "cosine": 0.37},
    "image-only": {"mcd": 12.64, "fad": 0.81, "lsd": 10.57, "cosine": 0.32},
    "text-only": {"mcd": 12.87, "fad": 0.75, "lsd": 18.51, "cosine": 0.42},
    "full": {"mcd": 11.36, "fad": 0.70, "lsd": 9.64, "cosine": 0.56},
}
"""The paper's numbers (ArtiCaps, unnamed embedding model): context, not comparable values."""


@dataclass(frozen=True)
class EvalConfig:
    """Options of ``main.py eval`` (see :mod:`training.evaluation.cli`)."""

    checkpoint: Path
    data: Path
    out: Path
    split: str = "test"
    modes: tuple[str, ...] = ("full", "text-only", "image-only", "random")
    vocoder: str = "griffin-lim"
    limit: int | None = None
    seed: int = 0
    reference: str = "audio"  # audio | vocoded
    stem: str | None = None  # best (default when present) | last
    batch_size: int = 16
    device: str = "cpu"
    embedding_layer: str = "penultimate"
    musicnn_weights: Path | None = None  # default: assets/embedders/musicnn_mtt.safetensors
    griffin_lim_iters: int = 32
    save_audio: int = 2
    temperatures: tuple[float, ...] = ()
    """Token decoder: sampling temperature per stage (default: the run's own)."""
    repeat: tuple[float, ...] = ()
    """Token decoder with a tempo head: the repetition prior's strengths, as a bundle exported
    with ``--repeat`` samples (TokenMelDecoder.step); () for none."""
    repeat_beats: float = 1.0
    palette: float = 0.0
    """Token decoder with a palette head: the palette prior's strength λ, as a bundle exported
    with ``--palette`` samples; each row's palette comes from that mode's image input."""
    samples: int = 1
    """Token decoder: pieces sampled per row (seeds 0..samples − 1); every measure is the mean
    over rows × samples and FAD pools them, so one lucky or unlucky draw weighs less."""
    primer_frames: int = 0
    """Token decoder: the primer bank's frames, as a bundle exported with ``--primer-frames``
    samples (training/primers.py, built from the run's training split); each row's primer is
    that of its mode's image input, and the image-less mode (w/o Image) gets none."""
    code_bias: float = 0.0
    """Token decoder: β of the log-prior against broadband first-stage codes, as a bundle with
    ``python -m export.code_bias --strength β`` samples (core/code_bias.py, from the run's own
    codebook at the default quantile); 0 for none."""


@dataclass
class ModeResult:
    """Table IV row: means (and per-clip standard deviations) over the evaluated rows."""

    mode: str
    label: str
    clips: int
    mcd: float
    fad: float
    lsd: float
    cosine: float
    lsd_mel: float
    mcd_std: float
    lsd_std: float
    cosine_std: float
    lsd_mel_std: float


@dataclass
class EvalResult:
    rows: list[ModeResult]
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"results": [asdict(r) for r in self.rows], **self.info}


@dataclass
class _Reference:
    log_mel: np.ndarray  # [n_mels, T]
    patches: np.ndarray  # [P, D] embeddings of 3 s patches
    clip: np.ndarray  # [D]


def _references(rows: list[EvalRow], loaded: LoadedModel, vocoder: Vocoder,
                embedder: MusicnnEmbedder, source: str
                ) -> tuple[list[_Reference], dict[str, np.ndarray]]:
    """Per row: target Mel and reference embeddings; per distinct clip: reference waveform.

    Each distinct reference clip is loaded (or vocoded) and embedded once.
    """
    by_clip: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    references = []
    for row in tqdm(rows, desc="reference clips", unit="clip"):
        log_mel = reference_log_mel(row, loaded.mel_norm)
        if row.audio_id not in by_clip:
            vocoded = source == "vocoded"
            audio = vocoder(log_mel) if vocoded else reference_audio(row, loaded.audio)
            patches = embedder.embed_frames(audio, loaded.audio.sample_rate)
            by_clip[row.audio_id] = (audio, patches)
        references.append(_Reference(log_mel, by_clip[row.audio_id][1],
                                     by_clip[row.audio_id][1].mean(axis=0)))
    return references, {k: v[0] for k, v in by_clip.items()}


def generate_log_mels(loaded: LoadedModel, image: torch.Tensor, text: torch.Tensor,
                      mode: InputMode, seed: int, batch_size: int,
                      sampling: dict | None = None, primers=None,
                      sample_seed: int = 0) -> np.ndarray:
    """Natural-log Mels [N, n_mels, T] generated in ``mode`` (noise drawn once, seeded); a token
    decoder samples with `sample_seed` and the `sampling` keywords of TokenMelDecoder.generate
    (temperatures, repeat, repeat_beats, palette_strength, code_bias) when given; the palette
    prior reads the mode's own image input (the random baseline's random image, image-only's image), and
    so does the primer of `primers` (a training.primers.PrimerBank), except in text-only mode,
    whose image is removed."""
    image, text = apply_input_mode(image, text, mode, torch.Generator().manual_seed(seed))
    device = next(loaded.model.parameters()).device
    model = loaded.model
    outputs = []
    with torch.inference_mode():
        for start in range(0, image.shape[0], batch_size):
            batch_image = image[start:start + batch_size].to(device)
            batch_text = text[start:start + batch_size].to(device)
            if sampling and model.samples:
                options = dict(sampling)
                strength = float(options.pop("palette_strength", 0.0))
                palette = model.decoder.palette(batch_image) if strength else None
                primer = None
                if primers is not None and InputMode(mode) is not InputMode.TEXT_ONLY:
                    primer = torch.from_numpy(nearest_primers(primers,
                                                              batch_image.cpu().numpy()))
                batch = model.decoder.generate(model.projector(batch_image, batch_text),
                                               seed=sample_seed,
                                               palette=palette, palette_strength=strength,
                                               primer=primer, **options)
            else:
                batch = model(batch_image, batch_text)
            outputs.append(batch.float().cpu().numpy())
    return denormalize(np.concatenate(outputs), loaded.mel_norm)


def run_code_bias(loaded: LoadedModel, strength: float) -> torch.Tensor:
    """The log-prior [stages, size] against broadband codes of the run's own codebook, as
    ``export.code_bias`` writes it into a bundle of that run."""
    books = loaded.model.decoder.codebook.books.detach().cpu().numpy()
    return torch.from_numpy(broadband_code_bias(books, strength, norm=loaded.mel_norm))


def _std(values: list[float]) -> float:
    return float(np.std(values)) if len(values) > 1 else 0.0


def evaluate_mode(mode: InputMode, generated: np.ndarray, rows: list[EvalRow],
                  references: list[_Reference], reference_waves: dict[str, np.ndarray],
                  vocoder: Vocoder, embedder: MusicnnEmbedder, sample_rate: int,
                  audio_dir: Path | None, save_audio: int) -> ModeResult:
    """All metrics of one input configuration."""
    mcds, lsds, lsd_mels, cosines, generated_patches = [], [], [], [], []
    for i, (row, reference) in enumerate(tqdm(list(zip(rows, references, strict=True)),
                                              desc=f"{mode.value:>10}", unit="clip")):
        frames = min(generated.shape[-1], reference.log_mel.shape[-1])
        mel, target = generated[i][:, :frames], reference.log_mel[:, :frames]
        mcds.append(metrics.mcd(target, mel))
        lsd_mels.append(metrics.lsd_mel(target, mel))
        audio = vocoder(mel)
        lsds.append(metrics.lsd(reference_waves[row.audio_id], audio))
        patches = embedder.embed_frames(audio, sample_rate)
        generated_patches.append(patches)
        cosines.append(float(metrics.paired_cosine(reference.clip, patches.mean(axis=0))[0]))
        if audio_dir is not None and i < save_audio:
            audio_dir.mkdir(parents=True, exist_ok=True)
            sf.write(audio_dir / f"{mode.value}_{row.id}.wav", audio, sample_rate)
    fad = metrics.fad(np.concatenate([r.patches for r in references]),
                      np.concatenate(generated_patches))
    return ModeResult(mode=mode.value, label=PAPER_LABELS[mode], clips=len(rows),
                      mcd=float(np.mean(mcds)), fad=fad, lsd=float(np.mean(lsds)),
                      cosine=float(np.mean(cosines)), lsd_mel=float(np.mean(lsd_mels)),
                      mcd_std=_std(mcds), lsd_std=_std(lsds), cosine_std=_std(cosines),
                      lsd_mel_std=_std(lsd_mels))


DEFINITIONS: dict[str, str] = {
    "mcd": "dB, (10/ln10)·sqrt(2·Σ_{d=1..13} Δc_d²) with c = DCT-II/N of the 80-band "
           "natural-log Mel (real-cepstrum convention, c0 excluded), generated vs target Mel "
           "before vocoding, mean over frames and clips; the paper does not give its "
           "normalisation, so compare MCD only across our own runs",
    "lsd": "dB, STFT power spectra (n_fft/hop/win of the audio config), vocoded vs reference "
           "waveform, RMS over bins, mean over frames and clips",
    "lsd_mel": "dB, same as lsd on the 80-band Mel power, before vocoding",
    "fad": "Fréchet distance of Gaussian fits of all per-3-s-patch embeddings",
    "cosine": "mean over clips of cos(clip embedding generated, clip embedding reference)",
}
"""Exact metric definitions, written into every metrics.json."""


def _describe(config: EvalConfig, loaded: LoadedModel, vocoder: Vocoder,
              embedder: MusicnnEmbedder, references: list[_Reference], distinct: int) -> dict:
    """Provenance of a run: embedding model, vocoder, checkpoint, data, definitions."""
    patches = sum(r.patches.shape[0] for r in references)
    info = {
        "embedding_model": embedder.name,
        "embedding_description": {k: embedder.description[k] for k in
                                  ("name", "source", "version", "licence", "safetensors_sha256")},
        "vocoder": vocoder.name,
        "reference": config.reference,
        "checkpoint": str(loaded.path),
        "encoders": {"image": loaded.image_spec.to_dict(), "text": loaded.text_spec.to_dict()},
        "data": str(config.data),
        "split": config.split,
        "clips": len(references),
        "distinct_reference_clips": distinct,
        "fad_embeddings_per_set": patches,
        "seed": config.seed,
        "sampling": {"temperatures": list(config.temperatures), "repeat": list(config.repeat),
                     "repeat_beats": config.repeat_beats if config.repeat else None,
                     "palette": config.palette, "primer_frames": config.primer_frames,
                     "code_bias": config.code_bias, "samples_per_row": config.samples},
        "definitions": DEFINITIONS,
        "paper_table_iv": PAPER_TABLE_IV,
    }
    dimension = references[0].patches.shape[1]
    if patches <= dimension:
        info["warning"] = (f"FAD is fitted on {patches} embeddings of dimension {dimension}: the "
                           "covariances are rank-deficient and FAD is noisy; evaluate more clips "
                           "(remove --limit) for stable values.")
    return info


def evaluate(config: EvalConfig, vocoder: Vocoder | None = None,
             embedder: MusicnnEmbedder | None = None) -> EvalResult:
    """Runs every requested input mode; rows come back in Table IV order."""
    if config.reference not in ("audio", "vocoded"):
        raise ValueError(f"--reference {config.reference!r} is unknown; use audio or vocoded.")
    modes = [InputMode(m) for m in config.modes]
    loaded = load_model(config.checkpoint, config.stem, config.device)
    vocoder = vocoder or make_vocoder(config.vocoder, loaded.audio, config.device,
                                      config.griffin_lim_iters)
    embedder = embedder or MusicnnEmbedder(config.musicnn_weights or DEFAULT_WEIGHTS,
                                           config.embedding_layer)
    rows = read_eval_rows(config.data, config.split, config.limit)
    ids, image_table, text_table = load_embeddings(config.data, loaded.image_spec,
                                                   loaded.text_spec)
    image, text = select_inputs(rows, ids, image_table, text_table)
    references, waves = _references(rows, loaded, vocoder, embedder, config.reference)
    primers = None
    if config.primer_frames and loaded.model.samples:
        primers = build_primer_bank(config.data, loaded.image_spec, loaded.text_spec,
                                    loaded.model.decoder.codebook, config.primer_frames)
    results = []
    for mode in sorted(modes, key=list(PAPER_LABELS).index):
        sampling = {key: value for key, value in (("temperatures", config.temperatures),
                                                  ("repeat", config.repeat)) if value}
        if config.repeat:
            sampling["repeat_beats"] = config.repeat_beats
        if config.palette:
            sampling["palette_strength"] = config.palette
        if config.code_bias and loaded.model.samples:
            sampling["code_bias"] = run_code_bias(loaded, config.code_bias)
        samples = max(1, config.samples) if loaded.model.samples else 1
        generated = np.concatenate([
            generate_log_mels(loaded, image, text, mode, config.seed, config.batch_size,
                              sampling, primers, sample_seed=s) for s in range(samples)])
        results.append(evaluate_mode(mode, generated, rows * samples, references * samples,
                                     waves, vocoder, embedder, loaded.audio.sample_rate,
                                     Path(config.out) / "audio", config.save_audio))
    info = _describe(config, loaded, vocoder, embedder, references, len(waves))
    return EvalResult(results, info)
