"""``distill-vocoder``: a lighter CPU vocoder distilled from HiFi-GAN V1 (issue 10 item 1).

    main.py distill-vocoder --music data/dataset-topk --run-dir runs/vocoder-k3
    python -m export.replace_vocoder --bundle assets/bundle --vocoder runs/vocoder-k3 \\
        --out runs/bundle-k3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.vocoder.config import CONFIGS
from training.vocoder.distill import DistillOptions, distill


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    defaults = DistillOptions(music=Path("."), run_dir=Path("."))
    parser.add_argument("--music", type=Path, required=True,
                        help="real music: a data set directory (train Mels for training, "
                             "val/test for the check) or a folder of audio files")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/vocoder-k3"),
                        help="output: checkpoints/, pool.safetensors, losses.jsonl, "
                             "distill_report.json, distill_curve.png")
    parser.add_argument("--student", choices=sorted(c for c in CONFIGS if c != "v1"),
                        default=defaults.student, help="student HiFi-GAN config")
    parser.add_argument("--teacher", default=defaults.teacher,
                        help="teacher V1 weights: universal, LJSpeech or a generator checkpoint")
    parser.add_argument("--max-steps", type=int, default=defaults.max_steps,
                        help="total steps to reach, counting resumed ones")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop after this much training, checkpointed and resumable")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--pool-windows", type=int, default=defaults.pool_windows,
                        help="Mel windows (32 frames each) rendered by the teacher once")
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, dest="learning_rate")
    parser.add_argument("--local-steps", type=int, default=defaults.local_steps,
                        help="stage-wise steps (each residual block fitted to the teacher's "
                             "MRF on the teacher's stage inputs) before the end-to-end loss")
    parser.add_argument("--line-weight", type=float, default=defaults.line_weight,
                        help="weight of the frame-rate line term against the buzz of pruned "
                             "MRF branches (0: off)")
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--num-threads", type=int, default=None,
                        help="PyTorch CPU threads (default: PyTorch's choice)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its last checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    for name in ("max_steps", "local_steps", "batch_size", "pool_windows", "checkpoint_every"):
        if getattr(args, name) < (0 if name in ("max_steps", "local_steps") else 1):
            print(f"error: --{name.replace('_', '-')} must be positive (got "
                  f"{getattr(args, name)}).", file=sys.stderr)
            return 2
    if not args.learning_rate > 0:
        print(f"error: --lr must be positive (got {args.learning_rate}).", file=sys.stderr)
        return 2
    if not args.line_weight >= 0:
        print(f"error: --line-weight must be 0 or more (got {args.line_weight}).",
              file=sys.stderr)
        return 2
    options = DistillOptions(music=args.music, run_dir=args.run_dir, student=args.student,
                             teacher=args.teacher, max_steps=args.max_steps,
                             max_seconds=args.max_seconds, batch_size=args.batch_size,
                             pool_windows=args.pool_windows, learning_rate=args.learning_rate,
                             local_steps=args.local_steps, line_weight=args.line_weight,
                             checkpoint_every=args.checkpoint_every, seed=args.seed,
                             num_threads=args.num_threads, resume=args.resume,
                             progress=not args.no_progress)
    try:
        result = distill(options)
    except (FileExistsError, FileNotFoundError, ValueError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    first, last = result.scores[0], result.scores[-1]
    print(f"{result.checkpoint_dir}: step {result.step}, student {result.student_parameters / 1e6:.2f} M "
          f"parameters (teacher {result.teacher_parameters / 1e6:.2f} M); held-out MCD to the "
          f"teacher {first.mcd_db:.3f} dB at step {first.step} -> {last.mcd_db:.3f} dB at step "
          f"{last.step} (Mel L1 {first.mel_l1:.4f} -> {last.mel_l1:.4f})"
          + ("" if last.buzz_db is None else f"; frame-rate buzz {last.buzz_db:.1f} dB"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.vocoder.distill_cli",
                                     description=__doc__.splitlines()[0])
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
