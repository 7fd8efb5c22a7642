"""``main.py soak``: run the real kiosk on a video for N minutes, then report.

    python main.py soak --minutes 60                      # the issue-10 soak (quiet machine)
    python main.py soak --minutes 0.5 --out runs/soak-ci  # what CI runs (tests/installation)

Writes ``OUT/soak.json`` (underflow blocks, device underruns, RSS at start / after the warm-up /
end / peak and its growth, warnings and errors in the log, frozen threads, comments sent,
pieces composed and played, the samples) and ``OUT/soak.png`` (RSS and underflows over time);
the kiosk's own log is ``OUT/logs/kiosk.log``. Exits 0 once the report is written; with
``--strict`` it exits 1 when a pass criterion of issue 10 fails.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from installation.config import ConfigError, load_config, with_overrides

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="how long the kiosk runs (fractions allowed: 0.5 = 30 s)")
    parser.add_argument("--config", type=Path, help="kiosk TOML file (its camera source, "
                        "window, log folder and sound device are set by the soak)")
    parser.add_argument("--bundle", type=Path, help="model bundle (default: the config's)")
    parser.add_argument("--video", type=Path, help="camera video (default: the sample artworks "
                        "hung one after another, written to OUT/soak_video.mp4)")
    parser.add_argument("--out", type=Path, help="report folder (default runs/soak/<time>)")
    parser.add_argument("--comment-every", type=float, default=15.0, metavar="SECONDS",
                        help="a visitor writes a comment and taps Compose this often (a new "
                        "comment cancels a piece still being composed: below ~12 s with the "
                        "shipped bundle on 2 cores no piece is composed to its end)")
    parser.add_argument("--hold-seconds", type=float, default=20.0,
                        help="how long each painting stays in the generated video")
    parser.add_argument("--sample-every", type=float, metavar="SECONDS",
                        help="counter sampling period (default: 1 s, longer for runs over "
                        "30 minutes so that a report holds at most 1 800 samples)")
    parser.add_argument("--audio-device", default="none",
                        help="sound device; \"none\" = the silent output paced in real time, "
                        "\"\" = the system default")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a pass criterion fails (underflows, RSS growth "
                        "≥ 50 MB, log errors, a frozen thread, no piece played)")


def _check(args: argparse.Namespace) -> None:
    if not 0 < args.minutes <= 24 * 60:
        raise ConfigError(f"--minutes must be above 0 and at most 1440, not {args.minutes:g}.")
    if not 1.0 <= args.comment_every <= 3600:
        raise ConfigError(f"--comment-every must be between 1 and 3600 s, not "
                          f"{args.comment_every:g}.")
    if not 2.0 <= args.hold_seconds <= 600:
        raise ConfigError(f"--hold-seconds must be between 2 and 600, not {args.hold_seconds:g}.")
    if args.sample_every is not None and not 0.2 <= args.sample_every <= 600:
        raise ConfigError(f"--sample-every must be between 0.2 and 600 s, not "
                          f"{args.sample_every:g}.")
    if args.video is not None and not args.video.is_file():
        raise ConfigError(f"The video {args.video} does not exist; leave --video out to use "
                          "the generated one.")


def run(args: argparse.Namespace) -> int:
    from installation.app import bundle_problem, choose_qt_platform

    try:
        _check(args)
        config = load_config(args.config)
        if args.bundle is not None:
            config = with_overrides(config, bundle=str(args.bundle.resolve()))
    except ConfigError as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2
    if problem := bundle_problem(config):
        print(f"soak: {problem.split('. The kiosk starts anyway')[0]}.", file=sys.stderr)
        return 2

    from installation.artworks import load_artworks
    from installation.logging_setup import setup_logging
    from installation.soak import SoakSettings, run_soak, write_soak_video
    from installation.soak_report import plot, write_report

    out = args.out or config.resolve(f"runs/soak/{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    setup_logging(out / "logs")
    choose_qt_platform()
    video = args.video
    if video is None:
        artworks = load_artworks(config.resolve(config.artworks))
        video = write_soak_video(out / "soak_video.mp4", artworks, args.hold_seconds)
        log.info("Soak video %s: %d artworks, %g s each.", video, len(artworks),
                 args.hold_seconds)
    sections: dict[str, object] = {
        "camera": {"source": str(video.resolve())},
        "audio": {"device": args.audio_device},
        "ui": {"fullscreen": False},
        "log_dir": str((out / "logs").resolve()),
    }
    config = with_overrides(config, **sections)
    sample_every = args.sample_every or max(1.0, args.minutes * 60 / 1800)
    settings = SoakSettings(args.minutes, args.comment_every, sample_every)
    log.info("Soak: %g min, a comment every %g s, sampled every %g s; report in %s.",
             args.minutes, args.comment_every, sample_every, out)
    report = run_soak(config, video, settings)
    json_path = write_report(report, out)
    png_path = plot(report, out / "soak.png")
    rss = report.rss_mb
    print(f"Soak {report.seconds_run / 60:.2f} min: {report.pieces_played} pieces played "
          f"({report.pieces_composed} composed, {report.comments_sent} comments), "
          f"{report.underflow_blocks} underflow blocks, {report.device_underruns} device "
          f"underruns, RSS {rss['after_warmup']:.0f} → {rss['end']:.0f} MB "
          f"({rss['growth_after_warmup']:+.1f} MB after warm-up, peak {rss['peak']:.0f}), "
          f"{report.log_errors} errors and {report.log_warnings} warnings in the log, "
          f"{len(report.freezes)} frozen threads.")
    failed = [name for name, ok in report.verdict["checks"].items() if not ok]
    print("PASSED" if not failed else "FAILED: " + ", ".join(failed))
    print(f"Report: {json_path}  Plot: {png_path}  Log: {out / 'logs' / 'kiosk.log'}")
    return 1 if args.strict and failed else 0

