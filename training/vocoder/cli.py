"""``train-vocoder``: fine-tune HiFi-GAN on the data set's music (Art2Music Sec. IV.A).

The lead's ``main.py`` wires :func:`add_arguments` and :func:`run` as a sub-command; the module
also runs alone: ``python -m training.vocoder.cli --dataset data/set --run-dir runs/vocoder``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from training.vocoder.config import CONFIGS
from training.vocoder.data import PREDICTED_DOMAINS
from training.vocoder.finetune import FinetuneOptions, finetune


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the fine-tuning options (every one with help text) to ``parser``."""
    parser.add_argument("--dataset", type=Path, required=True,
                        help="data set directory with manifest.jsonl (CONTRACTS.md layout)")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/vocoder"),
                        help="output directory: checkpoints/, losses.jsonl, loss_curve.png "
                             "(default: %(default)s)")
    parser.add_argument("--config", choices=sorted(CONFIGS), default="v1",
                        help="HiFi-GAN variant (Kong et al. 2020; tiny is for tests) "
                             "(default: %(default)s)")
    parser.add_argument("--init", default="auto",
                        help="starting generator weights: auto (universal for v1, random "
                             "otherwise), universal, LJSpeech, none, or a checkpoint file "
                             "(.safetensors or official .pth.tar) (default: %(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its last checkpoint, exactly "
                             "(its config wins over --config and hyper-parameter options)")
    parser.add_argument("--max-steps", type=int, default=20_000,
                        help="total training steps to reach, counting resumed ones "
                             "(default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop after this many seconds of training, checkpointed and "
                             "resumable (time-boxed GPU runs; default: no limit)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="segments per step (default: the config's, 16 for v1-v3)")
    parser.add_argument("--segment-size", type=int, default=None,
                        help="samples per training segment, a multiple of the hop 256 "
                             "(default: the config's, 8192 for v1-v3)")
    parser.add_argument("--lr", type=float, default=None, dest="learning_rate",
                        help="AdamW learning rate (default: the config's, 2e-4)")
    parser.add_argument("--lr-decay", type=float, default=None,
                        help="learning-rate factor per epoch (default: the config's, 0.999)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of initialisation and batch sampling (default: config's, 1234)")
    parser.add_argument("--splits", default="train",
                        help="comma-separated manifest splits to train on (default: "
                             "%(default)s; the paper uses all of MusicCaps: train,val,test)")
    parser.add_argument("--predicted-mels", type=Path, default=None,
                        help="directory of decoder-predicted Mels <row id>.npy or "
                             "<audio_id>.npy [80, T], aligned with the clip's audio; mixed "
                             "with real Mels as in the paper (default: real Mels only)")
    parser.add_argument("--predicted-domain", choices=PREDICTED_DOMAINS, default="normalized",
                        help="whether predicted Mels are normalised to [-1, 1] (as the decoder "
                             "writes them) or natural-log Mels (default: %(default)s)")
    parser.add_argument("--predicted-fraction", type=float, default=0.5,
                        help="probability that a clip with predicted Mels uses one instead of "
                             "its real Mel (default: %(default)s)")
    parser.add_argument("--discriminator-warmup", type=int, default=0, metavar="STEPS",
                        help="first steps in which only the discriminators learn, for fresh "
                             "discriminators beside a pretrained generator (default: %(default)s)")
    parser.add_argument("--checkpoint-every", type=int, default=1000,
                        help="steps between atomic checkpoints (default: %(default)s)")
    parser.add_argument("--log-every", type=int, default=10,
                        help="steps between lines of losses.jsonl (default: %(default)s)")
    parser.add_argument("--num-workers", type=int, default=0,
                        help="DataLoader worker processes (default: %(default)s)")
    parser.add_argument("--cache-clips", type=int, default=64,
                        help="decoded clips kept in memory per worker (default: %(default)s)")
    parser.add_argument("--device", default="auto",
                        help="torch device: auto, cpu, cuda, cuda:1, ... (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bar")
    return parser


def options_from_args(args: argparse.Namespace) -> FinetuneOptions:
    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    return FinetuneOptions(
        dataset=args.dataset, run_dir=args.run_dir, config=args.config, init=args.init,
        resume=args.resume, max_steps=args.max_steps, max_seconds=args.max_seconds,
        batch_size=args.batch_size,
        segment_size=args.segment_size, learning_rate=args.learning_rate,
        lr_decay=args.lr_decay, seed=args.seed, splits=splits,
        predicted_mels=args.predicted_mels, predicted_domain=args.predicted_domain,
        predicted_fraction=args.predicted_fraction,
        discriminator_warmup=args.discriminator_warmup, checkpoint_every=args.checkpoint_every,
        log_every=args.log_every, num_workers=args.num_workers, cache_clips=args.cache_clips,
        device=args.device, progress=not args.no_progress)


def run(args: argparse.Namespace) -> int:
    """Runs fine-tuning; prints where the generator went. Returns a process exit code."""
    try:
        result = finetune(options_from_args(args))
    except (FileNotFoundError, FileExistsError, ValueError, RuntimeError, ArithmeticError) as err:
        print(f"train-vocoder: {err}", file=sys.stderr)
        return 2
    print(f"train-vocoder: step {result.step}, Mel L1 "
          f"{result.last_losses.get('mel_l1', float('nan')):.4f}; generator at "
          f"{result.checkpoint_dir / 'generator.safetensors'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train-vocoder", description=__doc__.splitlines()[0])
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
