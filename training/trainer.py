"""Joint training of the gated residual projector and the BiLSTM decoder (Sec. III.B, IV.A.2).

Resumable: `last` holds weights, Adam state, epoch, position in the epoch and history; the
epoch's batch order is a pure function of (seed, epoch), so a resumed run continues with exactly
the batches an uninterrupted run would have seen. `best` holds the lowest-validation weights.
"""

from __future__ import annotations

import contextlib
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM
from core.beat import BEAT_FEATURES, tempo_bins
from training.checkpoint import (
    load_sidecar,
    load_tensors,
    restore_optimizer_state,
    save_checkpoint,
)
from training.config import TrainConfig
from training.distributed import Distributed, LossModule
from training.encoders import EncoderSpec
from training.features import cache_embeddings, load_cached_embeddings, read_manifest
from training.feelings import train_feelings
from training.models import (
    TOKEN_DECODER,
    Art2Music,
    Art2MusicConfig,
    InputMode,
    TokenDecoderConfig,
    TokenMelDecoder,
    apply_input_mode,
)
from training.models.art2music import PAPER_DECODER, count_parameters
from training.models.decoder import DecoderConfig
from training.models.projector import ProjectorConfig
from training.objectives import OBJECTIVES, TOKENS, PaperObjective, TokenObjective
from training.plots import plot_loss_curves, plot_mel_pair
from training.warm_start import grown_state


@dataclass
class SplitData:
    image: torch.Tensor  # [N, Di]
    text: torch.Tensor  # [N, Dt]
    mel_index: torch.Tensor  # [N] rows of the shared Mel table


@dataclass
class TrainingData:
    mels: torch.Tensor  # [M, n_mels, frames] float16, one per distinct audio clip
    splits: dict[str, SplitData]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_training_data(config: TrainConfig, image_spec: EncoderSpec, text_spec: EncoderSpec,
                       device: torch.device) -> TrainingData:
    """Embeddings (cached once per encoder) and the distinct Mel targets of the data set."""
    cache_embeddings(config.data, image_spec, text_spec, device=str(device))
    rows = read_manifest(config.data)
    _, image, text = load_cached_embeddings(config.data, image_spec, text_spec)
    audio_ids = sorted({row.audio_id for row in rows})
    audio_index = {audio_id: i for i, audio_id in enumerate(audio_ids)}
    mel_paths = {row.audio_id: row.mel_path for row in rows}
    mels = np.stack([np.load(mel_paths[a]).astype(np.float16) for a in
                     tqdm(audio_ids, desc="loading Mel targets", unit="clip")])
    splits = {}
    for split in ("train", "val", "test"):
        chosen = [i for i, row in enumerate(rows) if row.split == split]
        splits[split] = SplitData(
            image=torch.from_numpy(image[chosen]),
            text=torch.from_numpy(text[chosen]),
            mel_index=torch.tensor([audio_index[rows[i].audio_id] for i in chosen],
                                   dtype=torch.long),
        )
    if len(splits["train"].mel_index) == 0:
        raise ValueError(f"the data set {config.data} has no training rows; build a larger one.")
    return TrainingData(mels=torch.from_numpy(mels), splits=splits)


MODEL_SIZES = {"paper": 512, "compact": 192}
"""Hidden width per named size; both keep the paper's 4-layer BiLSTM. `compact` (3.8 M
parameters) is the CPU-trainable size of the offline default bundle."""

TOKEN_LSTM_SIZES = {"paper": 512, "compact": 256}
"""Token decoder LSTM width per named size (MODEL_NOTES: 2 × 256 trains in ~20 min on a CPU)."""


def build_model_config(config: TrainConfig, image_dim: int, text_dim: int,
                       frames: int) -> Art2MusicConfig:
    if config.objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {config.objective!r}; use one of "
                         f"{', '.join(OBJECTIVES)}.")
    kind = TOKEN_DECODER if config.objective == TOKENS else PAPER_DECODER
    temperatures = (config.temperature, 1.0)[: config.codebook_stages]
    temperatures += (1.0,) * (config.codebook_stages - len(temperatures))
    if config.model_size == "tiny":
        tiny = Art2MusicConfig.tiny(image_dim=image_dim, text_dim=text_dim, frames=frames,
                                    decoder_kind=kind)
        if tiny.tokens is None:
            return tiny
        tokens = TokenDecoderConfig.from_dict({**tiny.tokens.to_dict(),
                                               "codebook_size": min(config.codebook_size, 16),
                                               "stages": config.codebook_stages,
                                               "temperatures": temperatures,
                                               **_token_extras(config)})
        return Art2MusicConfig(tiny.projector, tiny.decoder, kind, tokens)
    hidden = MODEL_SIZES.get(config.model_size)
    if hidden is None:
        raise ValueError(f"unknown model size {config.model_size!r}; use one of "
                         f"{', '.join([*MODEL_SIZES, 'tiny'])}.")
    tokens = None
    if kind == TOKEN_DECODER:
        tokens = TokenDecoderConfig(input_dim=hidden, hidden_dim=TOKEN_LSTM_SIZES[config.model_size],
                                    codebook_size=config.codebook_size,
                                    stages=config.codebook_stages, frames=frames,
                                    temperatures=temperatures, **_token_extras(config))
    return Art2MusicConfig(
        projector=ProjectorConfig(image_dim=image_dim, text_dim=text_dim, hidden_dim=hidden),
        decoder=DecoderConfig(input_dim=hidden, hidden_dim=hidden, frames=frames),
        decoder_kind=kind,
        tokens=tokens,
    )


def _token_extras(config: TrainConfig) -> dict:
    """The token decoder's beat clock and guidance settings from the training config."""
    return {"beat_features": BEAT_FEATURES if config.beat_clock else 0,
            "tempo_bpm": tempo_bins(config.tempo_bins) if config.beat_clock else (),
            "condition_dropout": config.condition_dropout}


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of training rows in `epoch` (a pure function, so resumes are exact)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def batch_inputs(data: SplitData, mels: torch.Tensor, indices: torch.Tensor, mode: str,
                 seed: int, step: int, device: torch.device):
    image, text = data.image[indices], data.text[indices]
    noise = torch.Generator().manual_seed(seed * 7919 + step)
    image, text = apply_input_mode(image, text, mode, noise)
    target = mels[data.mel_index[indices]].float()
    return image.to(device), text.to(device), target.to(device)


class _StopRequest:
    """Turns SIGTERM / SIGINT into a clean 'checkpoint and stop' at the next step."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread: no signal handling
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, *_: object) -> None:
        self.requested = True

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@torch.no_grad()
def evaluate_loss(model: Art2Music, data: SplitData, mels: torch.Tensor, objective, mode: str,
                  seed: int, batch_size: int, device: torch.device) -> float:
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(data.mel_index), batch_size):
        indices = torch.arange(start, min(start + batch_size, len(data.mel_index)))
        image, text, target = batch_inputs(data, mels, indices, mode, seed + 1, start, device)
        loss = objective.loss(model, image, text, target, data.mel_index[indices], start,
                              training=False)
        total += loss.item() * len(indices)
        count += len(indices)
    model.train()
    return total / max(count, 1)


def train(config: TrainConfig) -> dict:
    """Runs (or resumes) training; returns the final state summary."""
    torch.manual_seed(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)
    dist = Distributed.from_env(device)  # torchrun: one process per GPU / CPU share
    device = dist.device(device)
    out = Path(config.out)
    checkpoints = out / "checkpoints"
    mode = InputMode(config.mode).value
    image_spec = EncoderSpec.parse(config.image_encoder)
    text_spec = EncoderSpec.parse(config.text_encoder)

    resume_state = None
    if config.resume and (checkpoints / "last.json").exists():
        resume_state = load_sidecar(checkpoints, "last")
    elif checkpoints.joinpath("last.json").exists() and not config.resume:
        raise FileExistsError(
            f"{checkpoints} already holds a run; pass --resume to continue it or choose another --out."
        )

    with dist.main_first():  # rank 0 writes the embedding cache, the others read it
        data = load_training_data(config, image_spec, text_spec, device)
    model_config = build_model_config(config, data.splits["train"].image.shape[1],
                                      data.splits["train"].text.shape[1], data.mels.shape[-1])
    model = Art2Music(model_config).to(device)
    print(f"parameters: projector {count_parameters(model.projector):,}, decoder "
          f"{count_parameters(model.decoder):,}, total {count_parameters(model):,}")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)

    epoch, position, step, best_val = 0, 0, 0, float("inf")
    history: dict[str, list] = {"train_step": [], "train_loss": [], "val_step": [], "val_loss": []}
    if resume_state is not None:
        model.load_state_dict(load_tensors(checkpoints / "last.safetensors"))
        restore_optimizer_state(optimizer, load_tensors(checkpoints / "last.optim.safetensors"),
                                resume_state["optimizer"])
        epoch, position = resume_state["epoch"], resume_state["position"]
        step, best_val = resume_state["step"], resume_state["best_val_loss"]
        history = resume_state["history"]
        print(f"resuming {out} at epoch {epoch + 1}, step {step}")
    elif config.init_weights is not None:
        state, grown = grown_state(model, load_tensors(config.init_weights))
        model.load_state_dict(state)
        print(f"starting from the weights in {config.init_weights}"
              + (f"; grown or new: {', '.join(grown)}" if grown else ""))
    objective = _objective(config, model, data, device,
                           fit=resume_state is None and config.init_weights is None)
    step_loss = dist.wrap(LossModule(model, objective), device)  # DDP across ranks

    def sidecar(val_loss: float | None = None) -> dict:
        return {
            "model_config": model_config.to_dict(),
            "encoders": {"image": image_spec.to_dict(), "text": text_spec.to_dict()},
            "audio": DEFAULT_AUDIO.to_dict(),
            "mel_norm": DEFAULT_MEL_NORM.to_dict(),
            "train_config": config.to_dict(),
            "epoch": epoch,
            "position": position,
            "step": step,
            "val_loss": val_loss,
            "best_val_loss": best_val,
            "history": history,
        }

    train_split = data.splits["train"]
    n_train = len(train_split.mel_index)
    batches_per_epoch = (n_train + config.batch_size - 1) // config.batch_size
    stopped = False
    started = time.perf_counter()
    steps_this_run = 0
    model.train()
    with _StopRequest() as stop:
        while epoch < config.epochs and not stopped:
            order = epoch_order(n_train, config.seed, epoch)
            progress = tqdm(range(position, batches_per_epoch), initial=position,
                            total=batches_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                            unit="batch", disable=not dist.is_main)
            for batch in progress:
                indices = order[batch * config.batch_size : (batch + 1) * config.batch_size]
                indices, weight = dist.shard(indices)  # this rank's rows of the global batch
                image, text, target = batch_inputs(train_split, data.mels, indices, mode,
                                                   config.seed, step, device)
                loss = step_loss(image, text, target, train_split.mel_index[indices], step,
                                 weight=weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                steps_this_run += 1
                position = batch + 1
                history["train_step"].append(step)
                history["train_loss"].append(dist.global_mean(loss))
                progress.set_postfix(loss=f"{loss.item():.4f}")
                hit_max = config.max_steps is not None and step >= config.max_steps
                if dist.any(stop.requested) or hit_max:
                    stopped = True
                    break
                if step % config.checkpoint_every == 0 and dist.is_main:
                    save_checkpoint(checkpoints, "last", model, sidecar(), optimizer)
            progress.close()
            if stopped and position < batches_per_epoch:
                break
            # End of epoch: validate, keep the best, plot.
            val_split = data.splits["val"] if len(data.splits["val"].mel_index) else train_split
            val_loss = evaluate_loss(model, val_split, data.mels, objective, mode, config.seed,
                                     config.batch_size, device)
            history["val_step"].append(step)
            history["val_loss"].append(val_loss)
            epoch, position = epoch + 1, 0
            if val_loss < best_val:
                best_val = val_loss
                if dist.is_main:
                    save_checkpoint(checkpoints, "best", model, sidecar(val_loss))
            if dist.is_main:
                save_checkpoint(checkpoints, "last", model, sidecar(val_loss), optimizer)
                _save_figures(model, val_split, data.mels, history, out, mode, config.seed,
                              device, preview_frames=4 * config.crop_frames if model.samples
                              else None)
            print(f"epoch {epoch}: val loss {val_loss:.4f} (best {best_val:.4f})")
    if dist.is_main:
        save_checkpoint(checkpoints, "last", model, sidecar(), optimizer)
    elapsed = time.perf_counter() - started
    dist.close()
    if not stopped and dist.is_main:
        _fit_feelings(config, image_spec, text_spec, checkpoints)
    summary = {
        "epoch": epoch,
        "step": step,
        "best_val_loss": best_val,
        "steps_per_second": steps_this_run / elapsed if elapsed > 0 else 0.0,
        "stopped_early": stopped,
        "checkpoints": str(checkpoints),
    }
    if stopped:
        print(f"stopped at step {step}; continue with --resume --out {out}")
    return summary


def _objective(config: TrainConfig, model: Art2Music, data: TrainingData, device: torch.device,
               fit: bool) -> PaperObjective | TokenObjective:
    """The loss of `config.objective`; for tokens, fits the codebooks on the training clips
    (unless the weights came from a checkpoint) and prints their ceiling."""
    if config.objective != TOKENS:
        return PaperObjective(model.config.n_mels, config.weight_min, config.weight_max, device)
    objective, report = TokenObjective.prepare(model, data.mels, data.splits["train"].mel_index,
                                               config.crop_frames, config.seed, fit)
    model.to(device)
    print(report.describe())
    return objective


def _fit_feelings(config: TrainConfig, image_spec: EncoderSpec, text_spec: EncoderSpec,
                  checkpoints: Path) -> None:
    """Trains the kiosk's feelings head on the training images' ArtEmis labels (if present) and
    reports it on the held-out test comments (training/feelings.py)."""
    report = train_feelings(config.data, image_spec, checkpoints)
    if report is None:
        return
    test = "—" if report.test_accuracy is None else f"{report.test_accuracy:.2f}"
    majority = "—" if report.majority_test_accuracy is None else f"{report.majority_test_accuracy:.2f}"
    print(f"feelings head: {report.train_rows} labelled images, train accuracy "
          f"{report.train_accuracy:.2f}, held-out {test} (majority guess {majority})")


def _save_figures(model: Art2Music, split: SplitData, mels: torch.Tensor, history: dict,
                  out: Path, mode: str, seed: int, device: torch.device,
                  preview_frames: int | None = None) -> None:
    """Loss curves, and one validation Mel beside its target. A sampling decoder draws its
    preview frame by frame in eager PyTorch, so `preview_frames` caps it (4 training windows:
    the whole 896 frames of the real runs, 192 of the tests' tiny ones)."""
    out.mkdir(parents=True, exist_ok=True)
    plot_loss_curves(history, out / "loss_curves.png")
    with torch.no_grad():
        model.eval()
        image, text, target = batch_inputs(split, mels, torch.tensor([0]), mode, seed + 1, 0,
                                           device)
        if preview_frames is not None and isinstance(model.decoder, TokenMelDecoder):
            frames = min(preview_frames, model.config.frames)
            predicted = model.decoder.generate(model.projector(image, text), seed=0,
                                               frames=frames)[0].cpu().numpy()
            target = target[..., :frames]
        else:
            predicted = model(image, text)[0].cpu().numpy()
        model.train()
    plot_mel_pair(predicted, target[0].cpu().numpy(), out / "mel_validation.png",
                  title="validation sample: generated vs reference (normalised log-Mel)")
