"""Distils HiFi-GAN V1 into a lighter CPU generator (issue 10 item 1: real time with headroom).

The teacher is a V1 generator (the packaged universal weights or a fine-tuned checkpoint); the
student a smaller config, by default ``v1-k3`` (V1 with one residual block per stage, about 4×
less CPU). Every student module that V1 also has starts from V1's weights (:func:`init_from_teacher`:
``conv_pre``, the transposed convolutions, ``conv_post`` and, per stage, the residual block
with the same kernel and dilations), so the student starts near the teacher instead of from
noise. That is what lets a 2-core CPU do the job in an hour.

Pruning V1's other residual blocks costs a lot at first (held-out MCD to the teacher about
13 dB), so the run starts with ``local_steps`` of stage-wise distillation: each stage's single
residual block is fitted to what the teacher's multi-receptive-field fusion adds to the same
input, on the teacher's own stage inputs (relative L1 of the residuals, every stage at once
and without the errors of earlier stages compounding). The end-to-end loss below follows.

Data: a pool of Mel windows cut from real music (a data set's training Mels, or audio files),
each paired with the teacher's audio for exactly that window. It is built once and stored in
the run (``pool.safetensors``). The loss of a batch from the pool, with the teacher's audio
``y_t = G_t(m)`` as the target of the student's ``y_s = G_s(m)``:

    L = λ_mel · mean|φ(y_s) − φ(y_t)|            HiFi-GAN eq. (3), λ_mel = 45
      + λ_stft · L_mr-stft(y_s, y_t)             Parallel WaveGAN eqs. (4)–(6)
      + λ_wave · mean|y_s − y_t|                 the teacher's phase as a fixed target
      + λ_line · L_line(y_s, y_t)                 the frame-rate lines (buzz), below

Pruning MRF branches leaves the transposed convolutions' frame-rate pattern less smoothed: the
first light vocoder (2 910 steps without the last term) buzzed 18 dB above its neighbourhood at
the harmonics of 86 Hz on the held-out windows, where V1 stays at 3 dB
(training.evaluation.frame_buzz), enough to pin the chroma of most pieces on F or C; about
half of its audio's energy on one held-out window repeated exactly every hop (V1: 2 %). ``L_line``
(losses.frame_periodic_loss) is the L1 between the two waveforms' frame-periodic parts (each
folded into hop-long frames and averaged: a comb on exactly those harmonics); the check reports
the student's buzz beside its MCD. Its weight λ_line = 2 000 took the buzz from 18 to 7 dB in
100 steps (100: 17 dB; 500: 13 dB); a log-magnitude L1 on those STFT bins did not move it.
The student stays thinner in the bass than V1 (its lowest Mel bands 0.2-0.5 nats under the
input's where V1's are within 0.25): its kernel-3 blocks see too little of a 30-120 Hz period.
Weighting the lowest 16 bands' Mel L1 once more (×90) halved that gap in 200 steps but brought
the buzz back on test clips (11.8 → 13.8 dB, pitch-class entropy 1.72 → 1.30), so it is not a term here.

There is no discriminator. The teacher's audio is a deterministic function of the Mel, so
regressing onto it does not average over phases the way regressing onto recordings would.
Held-out windows (another split) measure the student against the teacher, MCD and Mel L1 of
their audio's log-Mels, at step 0 and at every checkpoint (``distill_report.json``,
``distill_curve.png``). Checkpoints are atomic and the run resumes exactly (batches are a pure
function of seed and step). The checkpoint folder is what ``main.py export --vocoder`` and
``python -m export.replace_vocoder`` read.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from tqdm.auto import tqdm

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from core.mel import log_mel
from training.evaluation.frame_buzz import frame_rate_buzz_db
from training.evaluation.metrics import mcd
from training.vocoder.checkpoint import atomic_save_tensors, atomic_write_json
from training.vocoder.config import HiFiGANConfig, get_config
from training.vocoder.data import music_log_mels
from training.vocoder.generator import Generator, count_parameters
from training.vocoder.losses import TorchLogMel, frame_periodic_loss, multi_resolution_stft_loss
from training.vocoder.pretrained import PRETRAINED_NAMES, load_generator

POOL_FILE = "pool.safetensors"
CHECK_FILE = "check.safetensors"
GENERATOR_FILE = "generator.safetensors"
OPTIM_FILE = "optim.safetensors"
SIDECAR_FILE = "generator.json"
REPORT_FILE = "distill_report.json"
CURVE_FILE = "distill_curve.png"
LOSS_LOG = "losses.jsonl"
FORMAT = "art2music-hifigan-distill/1"


@dataclass
class DistillOptions:
    """One distillation run; the loss weights are the module docstring's λs."""

    music: Path
    """Real music: a data set directory (its ``train`` Mels; ``val``/``test`` for the check) or
    a folder of audio files (every other file is held out for the check)."""
    run_dir: Path
    student: str = "v1-k3"
    teacher: str = "universal"
    max_steps: int = 1500
    max_seconds: float | None = None
    """Stop (checkpointed, resumable) after this much training time."""
    batch_size: int = 8
    segment_frames: int = 32
    """Mel frames per training window (32 × 256 = 8 192 samples, HiFi-GAN's segment)."""
    pool_windows: int = 1536
    check_windows: int = 8
    check_frames: int = 128
    learning_rate: float = 2e-4
    adam_b1: float = 0.8
    adam_b2: float = 0.99
    mel_weight: float = 45.0
    stft_weight: float = 2.0
    wave_weight: float = 20.0
    line_weight: float = 2000.0
    """λ_line: the frame-rate line term (module docstring); 0 leaves it out."""
    local_steps: int = 300
    """Stage-wise steps before the end-to-end loss (module docstring)."""
    local_learning_rate: float = 1e-3
    """AdamW learning rate of the stage-wise steps (40 steps on music: relative residual L1
    0.32 at 1e-3 against 0.46 at 2e-4)."""
    checkpoint_every: int = 100
    seed: int = 1234
    num_threads: int | None = None
    resume: bool = False
    progress: bool = True
    audio: AudioConfig = field(default=DEFAULT_AUDIO)
    mel_norm: MelNormalization = field(default=DEFAULT_MEL_NORM)


@dataclass(frozen=True)
class CheckScore:
    """The student against the teacher on the held-out windows."""

    step: int
    mcd_db: float
    mel_l1: float
    buzz_db: float | None = None
    """The student's frame-rate buzz (training.evaluation.frame_buzz), mean over the windows;
    None in checks written before it was measured."""


@dataclass
class DistillResult:
    step: int
    checkpoint_dir: Path
    scores: list[CheckScore]
    student_parameters: int
    teacher_parameters: int


def _teacher_resblock(student: HiFiGANConfig, teacher: HiFiGANConfig, index: int) -> int | None:
    """The teacher's residual block that student block `index` copies: same stage, same kernel
    and dilations; None when the teacher has no such block."""
    per_student, per_teacher = len(student.resblock_kernel_sizes), len(teacher.resblock_kernel_sizes)
    stage, branch = divmod(index, per_student)
    wanted = (student.resblock_kernel_sizes[branch], student.resblock_dilation_sizes[branch])
    for j, found in enumerate(zip(teacher.resblock_kernel_sizes, teacher.resblock_dilation_sizes,
                                  strict=True)):
        if found == wanted:
            return stage * per_teacher + j
    return None


def init_from_teacher(student: Generator, teacher: Generator) -> tuple[int, int]:
    """Copies into `student` every tensor the teacher has at the matching place and shape
    (residual blocks renumbered by :func:`_teacher_resblock`). Both must have weight norm in the
    same form. Returns (tensors copied, tensors of the student)."""
    source = teacher.state_dict()
    state = student.state_dict()
    copied = 0
    for key, value in state.items():
        teacher_key = key
        if key.startswith("resblocks."):
            _, index, rest = key.split(".", 2)
            mapped = _teacher_resblock(student.config, teacher.config, int(index))
            teacher_key = None if mapped is None else f"resblocks.{mapped}.{rest}"
        if teacher_key in source and source[teacher_key].shape == value.shape:
            state[key] = source[teacher_key].clone()
            copied += 1
    student.load_state_dict(state, strict=True)
    return copied, len(state)


def _windows(mels: list[np.ndarray], frames: int, count: int, seed: int) -> np.ndarray:
    """`count` windows [count, n_mels, frames] at seeded positions, clips taken in turn (clips
    shorter than `frames` are skipped)."""
    usable = [m for m in mels if m.shape[1] >= frames]
    if not usable:
        raise ValueError(f"no music clip is {frames} Mel frames long; pass longer clips.")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(usable))
    out = np.empty((count, usable[0].shape[0], frames), np.float32)
    for i in range(count):
        mel = usable[order[i % len(usable)]]
        start = int(rng.integers(0, mel.shape[1] - frames + 1))
        out[i] = mel[:, start:start + frames]
    return out


@torch.no_grad()
def teacher_audio(teacher: Generator, mels: np.ndarray, batch: int = 8,
                  progress: bool = False) -> torch.Tensor:
    """The teacher's waveforms [N, frames · hop] for Mel windows [N, n_mels, frames]."""
    chunks = []
    for start in tqdm(range(0, len(mels), batch), desc="teacher audio", unit="batch",
                      disable=not progress):
        chunks.append(teacher(torch.from_numpy(mels[start:start + batch])).squeeze(1))
    return torch.cat(chunks)


def _music_split(options: DistillOptions) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Training Mels and held-out check Mels of `options.music`: a data set's ``train`` split
    and its ``val``/``test`` splits, or every other file of a folder."""
    source = Path(options.music)
    if (source / "manifest.jsonl").is_file():
        train = music_log_mels(source, options.audio, options.mel_norm, "train")
        held: list[np.ndarray] = []
        for split in ("val", "test"):
            try:
                held += music_log_mels(source, options.audio, options.mel_norm, split)
            except ValueError:
                continue
        if held:
            return train, held
    everything = music_log_mels(source, options.audio, options.mel_norm, None)
    return everything[0::2], everything[1::2]


def _load_or_build(path: Path, build) -> dict[str, torch.Tensor]:
    if path.is_file():
        return load_file(str(path))
    tensors = build()
    atomic_save_tensors(tensors, path, {"format": FORMAT})
    return tensors


@torch.no_grad()
def check_score(student: Generator, check: dict[str, torch.Tensor], audio: AudioConfig,
                step: int) -> CheckScore:
    """MCD (dB) and Mel L1 (nats) of the student's audio against the teacher's, per window,
    and the student's frame-rate buzz (dB)."""
    student.eval()
    distances, l1, buzz = [], [], []
    for mel, target in zip(check["mel"], check["audio"], strict=True):
        produced = student(mel[None]).reshape(-1).numpy()
        a, b = log_mel(target.numpy(), audio), log_mel(produced, audio)
        distances.append(mcd(a, b))
        l1.append(float(np.abs(a - b).mean()))
        buzz.append(frame_rate_buzz_db(produced, audio))
    return CheckScore(step, float(np.mean(distances)), float(np.mean(l1)),
                      float(np.nanmean(buzz)) if np.isfinite(buzz).any() else None)


def distill_loss(student_audio: torch.Tensor, target: torch.Tensor, mel: TorchLogMel,
                 options: DistillOptions) -> tuple[torch.Tensor, dict[str, float]]:
    """The module docstring's L and its terms (unweighted, for the log)."""
    student_audio = student_audio.reshape(target.shape)
    mel_l1 = F.l1_loss(mel(student_audio), mel(target))
    stft = multi_resolution_stft_loss(target, student_audio)
    wave = F.l1_loss(student_audio, target)
    loss = options.mel_weight * mel_l1 + options.stft_weight * stft + options.wave_weight * wave
    terms = {"mel_l1": mel_l1.item(), "stft": stft.item(), "wave_l1": wave.item()}
    if options.line_weight:
        line = frame_periodic_loss(target, student_audio, options.audio.hop_length)
        loss = loss + options.line_weight * line
        terms["line"] = line.item()
    return loss, {"loss": loss.item(), **terms}


@torch.no_grad()
def teacher_stages(teacher: Generator, mel: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per upsampling stage: the teacher's MRF input and what its MRF adds to it."""
    x = teacher.conv_pre(mel)
    pairs = []
    for stage in range(len(teacher.ups)):
        upsampled = teacher.upsample(stage, x)
        x = teacher.mrf(stage, upsampled)
        pairs.append((upsampled, x - upsampled))
    return pairs


def stage_loss(student: Generator, pairs: list[tuple[torch.Tensor, torch.Tensor]]
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean over stages of mean|r_s − r_t| / mean|r_t|, r the residual an MRF adds to its input."""
    terms = []
    for stage, (inputs, residual) in enumerate(pairs):
        produced = student.mrf(stage, inputs) - inputs
        terms.append(F.l1_loss(produced, residual) / residual.abs().mean().clamp_min(1e-8))
    loss = torch.stack(terms).mean()
    return loss, {"loss": loss.item(), "stage_l1": loss.item(),
                  **{f"stage{i}": t.item() for i, t in enumerate(terms)}}


def _batch(step: int, seed: int, size: int, pool_size: int) -> np.ndarray:
    return np.random.default_rng([seed, step]).integers(0, pool_size, size)


def _save(ckpt_dir: Path, student: Generator, optimiser: torch.optim.Optimizer, step: int,
          sidecar: dict) -> None:
    """Generator, optimiser and sidecar of `step`, each atomically; the sidecar last."""
    meta = {"format": FORMAT, "step": str(step)}
    atomic_save_tensors(student.state_dict(), ckpt_dir / GENERATOR_FILE, meta)
    slots = {f"{i}.{name}": value for i, state in optimiser.state_dict()["state"].items()
             for name, value in state.items() if isinstance(value, torch.Tensor)}
    atomic_save_tensors(slots, ckpt_dir / OPTIM_FILE, meta)
    atomic_write_json({**sidecar, "format": FORMAT, "step": step}, ckpt_dir / SIDECAR_FILE)


def _restore(ckpt_dir: Path, student: Generator, optimiser: torch.optim.Optimizer) -> dict:
    sidecar = json.loads((ckpt_dir / SIDECAR_FILE).read_text(encoding="utf-8"))
    for name in (GENERATOR_FILE, OPTIM_FILE):
        with safe_open(str(ckpt_dir / name), "pt") as handle:
            found = (handle.metadata() or {}).get("step")
        if found != str(sidecar["step"]):
            raise ValueError(f"{ckpt_dir / name} is from step {found}, the sidecar says "
                             f"{sidecar['step']} (a save was interrupted); restore a consistent "
                             "copy to resume.")
    student.load_state_dict(load_file(str(ckpt_dir / GENERATOR_FILE)), strict=True)
    slots = load_file(str(ckpt_dir / OPTIM_FILE))
    state = optimiser.state_dict()
    per_param: dict[int, dict] = {}
    for key, value in slots.items():
        index, name = key.split(".", 1)
        per_param.setdefault(int(index), {})[name] = value
    state["state"] = per_param
    optimiser.load_state_dict(state)
    return sidecar


def _plot(log_path: Path, scores: list[CheckScore], png: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    figure = Figure(figsize=(10, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    loss_axis, check_axis = figure.subplots(1, 2)
    for key, colour in (("stage_l1", "tab:purple"), ("mel_l1", "tab:blue"), ("stft", "tab:orange"),
                        ("wave_l1", "tab:green"), ("line", "tab:brown")):
        points = [(r["step"], r[key]) for r in rows if key in r]
        if points:
            loss_axis.plot(*zip(*points, strict=True), label=key, color=colour)
    loss_axis.set(title="training terms (unweighted)", xlabel="step", yscale="log")
    loss_axis.legend()
    check_axis.plot([s.step for s in scores], [s.mcd_db for s in scores], "o-", color="tab:red")
    check_axis.set(title="held-out MCD to the teacher (dB)", xlabel="step")
    figure.tight_layout()
    tmp = png.with_name(f".{png.name}.tmp.png")
    figure.savefig(tmp)
    tmp.replace(png)


def distill(options: DistillOptions) -> DistillResult:
    """Runs (or resumes) the distillation until `options.max_steps` steps are done."""
    if options.num_threads:
        torch.set_num_threads(options.num_threads)
    run_dir = Path(options.run_dir)
    ckpt_dir = run_dir / "checkpoints"
    has_checkpoint = (ckpt_dir / SIDECAR_FILE).is_file()
    if has_checkpoint and not options.resume:
        raise FileExistsError(f"{ckpt_dir} already holds a distilled vocoder; pass --resume to "
                              "continue it or choose another --run-dir.")
    config = get_config(options.student)
    config.check_audio(options.audio.hop_length, options.audio.n_mels)
    teacher_source = options.teacher if options.teacher in PRETRAINED_NAMES else Path(options.teacher)
    teacher = load_generator(teacher_source, weight_norm=True)
    torch.manual_seed(options.seed)
    student = Generator(config)
    copied, total = init_from_teacher(student, teacher)
    teacher.remove_weight_norm().eval()
    optimiser = torch.optim.AdamW(student.parameters(), options.learning_rate,
                                  betas=(options.adam_b1, options.adam_b2))
    run_dir.mkdir(parents=True, exist_ok=True)

    def pool() -> dict[str, torch.Tensor]:
        train, _ = _music_split(options)
        mels = _windows(train, options.segment_frames, options.pool_windows, options.seed)
        return {"mel": torch.from_numpy(mels),
                "audio": teacher_audio(teacher, mels, progress=options.progress)}

    def check() -> dict[str, torch.Tensor]:
        _, held = _music_split(options)
        mels = _windows(held, options.check_frames, options.check_windows, options.seed + 1)
        return {"mel": torch.from_numpy(mels), "audio": teacher_audio(teacher, mels)}

    training_pool = _load_or_build(run_dir / POOL_FILE, pool)
    held_out = _load_or_build(run_dir / CHECK_FILE, check)
    report_path = run_dir / REPORT_FILE
    if has_checkpoint:
        sidecar = _restore(ckpt_dir, student, optimiser)
        step = int(sidecar["step"])
        scores = [CheckScore(**s) for s in sidecar["scores"]]
    else:
        step, scores = 0, [check_score(student, held_out, options.audio, 0)]
    log_path = run_dir / LOSS_LOG
    if log_path.is_file():  # drop a killed run's lines after the checkpoint
        kept = [ln for ln in log_path.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] <= step]
        log_path.write_text("".join(ln + "\n" for ln in kept))
    run_options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
                   if k not in ("audio", "mel_norm")}

    def sidecar() -> dict:
        return {"config_name": config.name, "hifigan": config.to_dict(),
                "audio": options.audio.to_dict(), "mel_norm": options.mel_norm.to_dict(),
                "init": f"distilled from HiFi-GAN V1 ({options.teacher}); {copied} of {total} "
                        "tensors started from the teacher",
                "teacher": str(options.teacher), "scores": [asdict(s) for s in scores],
                "options": run_options}

    saved_step = step if has_checkpoint else -1

    def save() -> None:
        nonlocal saved_step
        if scores[-1].step != step:
            scores.append(check_score(student, held_out, options.audio, step))
        saved_step = step
        _save(ckpt_dir, student, optimiser, step, sidecar())
        atomic_write_json({"student": config.name, "teacher": str(options.teacher),
                           "student_parameters": count_parameters(student),
                           "teacher_parameters": count_parameters(teacher),
                           "copied_tensors": copied, "student_tensors": total,
                           "pool_windows": int(training_pool["mel"].shape[0]),
                           "check_windows": int(held_out["mel"].shape[0]),
                           "scores": [asdict(s) for s in scores]}, report_path)
        if log_path.is_file():
            _plot(log_path, scores, run_dir / CURVE_FILE)

    mel = TorchLogMel(options.audio)
    pool_size = int(training_pool["mel"].shape[0])
    started = time.perf_counter()
    bar = tqdm(total=options.max_steps, initial=step, desc=f"distil {config.name}", unit="step",
               disable=not options.progress, dynamic_ncols=True)
    with bar, log_path.open("a", encoding="utf-8") as log:
        while step < options.max_steps:
            student.train()
            index = torch.from_numpy(_batch(step, options.seed, options.batch_size, pool_size))
            local = step < options.local_steps
            for group in optimiser.param_groups:
                group["lr"] = options.local_learning_rate if local else options.learning_rate
            if local:
                loss, terms = stage_loss(student, teacher_stages(teacher, training_pool["mel"][index]))
            else:
                loss, terms = distill_loss(student(training_pool["mel"][index]),
                                           training_pool["audio"][index], mel, options)
            if not math.isfinite(terms["loss"]):
                raise FloatingPointError(f"non-finite distillation loss at step {step + 1} "
                                         f"({terms}); lower --lr or resume from the last "
                                         "checkpoint.")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            bar.update(1)
            log.write(json.dumps({"step": step, **terms}) + "\n")
            log.flush()
            bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()
                             if k in ("stage_l1", "mel_l1", "wave_l1", "line")})
            timed_out = (options.max_seconds is not None
                         and time.perf_counter() - started >= options.max_seconds)
            if step % options.checkpoint_every == 0 or timed_out:
                save()
            if timed_out:
                break
    if saved_step != step:
        save()
    return DistillResult(step, ckpt_dir, scores, count_parameters(student),
                         count_parameters(teacher))
