"""`main.py eval`: MCD / FAD / LSD / cosine of a checkpoint under the Table IV input modes, and
(with ``--bundle``) the kiosk-path report: how much painting and comment change the music when
composed exactly as the kiosk does (training/evaluation/kiosk_path.py), and the musicality
report: do the kiosk's pieces move like real music (training/evaluation/musicality_report.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

MODES = ("full", "text-only", "image-only", "random")


def _modes(text: str) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"unknown mode(s) {unknown}; use a comma-separated "
                                         f"subset of {','.join(MODES)}")
    return modes


def _numbers(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"give comma-separated numbers, e.g. 6,4 (got "
                                         f"{text!r})") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"the values must not be negative, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="Art2Music run directory (or its checkpoints/ dir or a .safetensors); "
                             "with --data: Table IV")
    parser.add_argument("--data", type=Path, default=None,
                        help="data set directory written by build-dataset")
    parser.add_argument("--bundle", type=Path, default=None,
                        help="model bundle: also write the kiosk-path report (painting vs comment "
                             "variation, pairwise Mel distances) to OUT/kiosk_path/")
    parser.add_argument("--paintings", type=Path, action="append", default=None,
                        help="paintings for the kiosk-path report: image files, folders or a "
                             "paintings JSONL (repeatable; default assets/artworks)")
    parser.add_argument("--kiosk-draws", type=int, default=1,
                        help="kiosk-path report: compose the painting × comment grid this many "
                             "times (a sampling decoder draws every piece anew); the shares are "
                             "their mean, and with 2 or more the draw's own share is split off")
    parser.add_argument("--kiosk-seed", type=int, default=None,
                        help="kiosk-path report: seed of the pieces (default: fresh seeds, as "
                             "the kiosk); given, a report can be reproduced")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--retrieval", type=Path, default=None, metavar="RUN",
                        help="music -> artwork run (python -m training.retrieval.train): with "
                             "--data, recall@1/@5 and median rank on the split's paintings "
                             "(OUT/retrieval/)")
    parser.add_argument("--retrieval-baseline", type=Path, default=None, metavar="RUN",
                        help="the colour-only retrieval run to compare with")
    parser.add_argument("--vocoder", default="griffin-lim",
                        help="griffin-lim, universal / LJSpeech (shipped HiFi-GAN) or a HiFi-GAN "
                             "run directory / generator checkpoint")
    parser.add_argument("--modes", type=_modes, default=",".join(MODES),
                        help="comma-separated input modes of Table IV")
    parser.add_argument("--limit", type=int, default=None, help="evaluate the first N rows only")
    parser.add_argument("--out", type=Path, default=Path("runs/eval"),
                        help="folder for metrics.csv / .json / .png and example audio")
    parser.add_argument("--reference", default="audio", choices=["audio", "vocoded"],
                        help="reference waveform: the original clip, or the target Mel vocoded")
    parser.add_argument("--stem", default=None, choices=["best", "last"],
                        help="checkpoint to load; best when present, else last")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random-input baseline")
    parser.add_argument("--temperatures", type=_numbers, default=(),
                        help="token decoder: sampling temperature per stage, comma separated "
                             "(default: the run's own), as the bundle was exported")
    parser.add_argument("--repeat", type=_numbers, default=(),
                        help="token decoder with a tempo head: repetition-prior strength per "
                             "stage, comma separated, as the bundle was exported (export --repeat)")
    parser.add_argument("--repeat-beats", type=float, default=1.0,
                        help="the repetition prior's lag in beats (export --repeat-beats)")
    parser.add_argument("--palette", type=float, default=0.0,
                        help="token decoder with a palette head: the palette prior's strength, "
                             "as the bundle was exported (export --palette); 0: none")
    parser.add_argument("--samples", type=int, default=1,
                        help="token decoder: pieces sampled per test row (seeds 0..N-1); the "
                             "measures average over them and FAD pools them")
    parser.add_argument("--primer-frames", type=int, default=0,
                        help="token decoder: the primer bank's frames, as the bundle was "
                             "exported (export --primer-frames); 0: none")
    parser.add_argument("--code-bias", type=float, default=0.0,
                        help="token decoder: the log-prior against broadband codes, as the "
                             "bundle carries it (python -m export.code_bias --strength); 0: none")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--embedding-layer", default="penultimate",
                        choices=["penultimate", "mean_pool", "max_pool", "taggram"],
                        help="musicnn representation used for FAD and cosine")
    parser.add_argument("--musicnn-weights", type=Path, default=None,
                        help="converted musicnn MTT weights (.safetensors + .json; default: "
                             "assets/embedders/musicnn_mtt.safetensors)")
    parser.add_argument("--griffin-lim-iters", type=int, default=32)
    parser.add_argument("--save-audio", type=int, default=2,
                        help="write this many generated clips per mode to OUT/audio/")
    group = parser.add_argument_group(
        "musicality report (with --bundle)",
        "Spectral flux, onsets, chroma movement, flatness and FAD of the bundle's pieces (kiosk "
        "path, no comment) beside real clips, and a Mel grid, in OUT/musicality/. Every piece "
        "is vocoded as the kiosk plays it: about 25 s per 10 s piece for HiFi-GAN on a 2-core "
        "CPU.")
    group.add_argument("--musicality", action=argparse.BooleanOptionalAction, default=True,
                       help="write the musicality report")
    group.add_argument("--musicality-pieces", type=int, default=None,
                       help="generated pieces, painting by painting (default: --limit, else "
                            "every painting × seed); issue 9's report wants ≥ 300")
    group.add_argument("--musicality-seeds", type=int, default=1,
                       help="pieces per painting (seeds 0..N-1; needs a decoder that samples)")
    group.add_argument("--real-music", type=Path, default=None,
                       help="folder of music recordings for the real clips (one clip from the "
                            "middle of each file); default: the --data set's --split clips")
    group.add_argument("--real-clips", type=int, default=None,
                       help="use at most this many real clips (default: all)")


def run(args: argparse.Namespace) -> int:
    if args.retrieval is not None:
        if args.data is None:
            print("main.py eval --retrieval needs --data (the data set it was trained on).")
            return 2
        _retrieval(args)
        if args.bundle is None and args.checkpoint is None:
            return 0
    if args.bundle is None and (args.checkpoint is None or args.data is None):
        print("main.py eval needs --checkpoint and --data (Table IV), --bundle (kiosk-path "
              "report), or both.")
        return 2
    if args.checkpoint is not None and args.data is not None:
        _table_iv(args)
    if args.bundle is not None:
        from engine import Engine

        engine = Engine.load(args.bundle, providers=["cpu"])
        _kiosk_path(args, engine)
        if args.musicality:
            _musicality(args, engine)
    return 0


def _retrieval(args: argparse.Namespace) -> None:
    from training.evaluation.retrieval import retrieval_report, summary_lines, write_report

    report = retrieval_report(args.retrieval, args.data, args.retrieval_baseline, args.split)
    print("\n".join(summary_lines(report)))
    paths = write_report(report, args.out / "retrieval", args.data)
    print("wrote " + ", ".join(str(p) for p in paths.values()))


def _paintings(args: argparse.Namespace) -> tuple[Path, ...]:
    repo = Path(__file__).resolve().parents[2]
    return tuple(args.paintings or [repo / "assets" / "artworks"])


def _kiosk_path(args: argparse.Namespace, engine=None) -> None:
    from training.evaluation.kiosk_path import KioskPathConfig, kiosk_path_report, write_kiosk_path

    config = KioskPathConfig(bundle=args.bundle, paintings=_paintings(args),
                             out=args.out / "kiosk_path", limit=args.limit,
                             draws=args.kiosk_draws, seed=args.kiosk_seed)
    result = kiosk_path_report(config, engine)
    paths = write_kiosk_path(result, config.out)
    shares = ", ".join(f"{k} {100 * v:.1f} %" for k, v in result.shares.items())
    spectrum = ", ".join(f"{k} {100 * v:.1f} %" for k, v in result.spectrum_shares.items())
    print(f"kiosk path: {result.distinct_prompts}/{len(result.paintings)} distinct prompts "
          f"without a comment; median Mel distance between paintings "
          f"{result.median_distance:.3f}; variation over painting × comment: {shares}; of "
          f"the long-term spectrum: {spectrum}")
    if result.replicated_shares:
        replicated = ", ".join(f"{k} {100 * v:.1f} %"
                               for k, v in result.replicated_shares.items())
        print(f"kiosk path over {len(result.draw_shares)} draws, long-term spectrum: "
              f"{replicated}; painting per draw: "
              + ", ".join(f"{100 * s['painting']:.1f} %" for s in result.draw_shares))
    print("wrote " + ", ".join(str(p) for p in paths.values()))


def _musicality(args: argparse.Namespace, engine) -> None:
    from training.evaluation.musicality_report import (
        MusicalityConfig,
        musicality_report,
        summary_lines,
        write_musicality,
    )

    config = MusicalityConfig(
        bundle=args.bundle, paintings=_paintings(args), out=args.out / "musicality",
        pieces=args.musicality_pieces if args.musicality_pieces is not None else args.limit,
        seeds=args.musicality_seeds, data=args.data, split=args.split,
        real_music=args.real_music, real_clips=args.real_clips,
        musicnn_weights=args.musicnn_weights, embedding_layer=args.embedding_layer)
    result = musicality_report(config, engine)
    paths = write_musicality(result, config.out, engine.manifest.audio, engine.manifest.mel_norm,
                             config.grid_rows)
    print(f"musicality: {len(result.generated)} generated pieces vs {len(result.real)} real "
          "clips")
    print("\n".join(summary_lines(result)))
    for note in (result.fad.get("warning"), result.info.get("embedding_note")):
        if note:
            print(f"note: {note}")
    print("wrote " + ", ".join(str(p) for p in paths.values()))


def _table_iv(args: argparse.Namespace) -> None:
    from training.evaluation.evaluate import EvalConfig, evaluate
    from training.evaluation.report import print_table, write_all

    config = EvalConfig(
        checkpoint=args.checkpoint, data=args.data, out=args.out, split=args.split,
        modes=tuple(args.modes), vocoder=args.vocoder, limit=args.limit, seed=args.seed,
        reference=args.reference, stem=args.stem, batch_size=args.batch_size,
        device=args.device, embedding_layer=args.embedding_layer,
        musicnn_weights=args.musicnn_weights, griffin_lim_iters=args.griffin_lim_iters,
        temperatures=args.temperatures, repeat=args.repeat, repeat_beats=args.repeat_beats,
        palette=args.palette, primer_frames=args.primer_frames, samples=args.samples,
        code_bias=args.code_bias, save_audio=args.save_audio,
    )
    result = evaluate(config)
    print_table(result)
    paths = write_all(result, args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
