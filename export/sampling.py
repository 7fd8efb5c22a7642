"""Re-sets how a bundle's token decoder samples, without the training run.

    python -m export.sampling --bundle assets/bundle --repeat 7.5,4.5

The sampling knobs of a token decoder are inputs of its step graph, written into the manifest's
decoder section at export (``main.py export --temperatures / --repeat``): the temperature per
codebook stage and the repetition prior's strength per stage (TokenMelDecoder.step: the code
chosen one beat back, where it was new then, gets that much more log-odds). When only they
change, the graphs stay as they are: this rewrites the manifest's decoder section, records the
change under ``provenance.sampling`` and checks that the engine loads the result. A prior can be
re-weighted but not added: a step graph exported without ``--repeat`` has no input for it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.bundle import Bundle
from engine.errors import EngineError
from engine.manifest import MANIFEST_NAME, TOKENS
from export.bundle import bundle_tool_parser, rewrite_bundle
from export.cli import _repeat, _temperatures
from export.errors import ExportError


def _per_stage(name: str, values: tuple[float, ...] | None, stages: int,
               zero_allowed: bool) -> list[float] | None:
    if values is None:
        return None
    low = "at least 0" if zero_allowed else "above 0"
    if len(values) != stages or any(v < 0 or (v == 0 and not zero_allowed) for v in values):
        raise ExportError(f"give one {name} per codebook stage ({stages}), each {low}; got "
                          f"{list(values)}.")
    return [float(v) for v in values]


def resample_bundle(bundle_dir: Path, out_dir: Path | None = None, *,
                    temperatures: tuple[float, ...] | None = None,
                    repeat: tuple[float, ...] | None = None) -> dict:
    """Writes the bundle with new sampling knobs (None: keep); returns {knob: [old, new]}."""
    bundle = Bundle.open(bundle_dir, verify=True)
    decoder = bundle.manifest.decoder
    if decoder.kind != TOKENS:
        raise ExportError(f"{bundle_dir} has no token decoder (kind {decoder.kind!r}); only a "
                          "sampling decoder has temperatures and a repetition prior.")
    new = {"temperatures": _per_stage("temperature", temperatures, decoder.stages, False),
           "repeat": _per_stage("repetition strength", repeat, decoder.stages, True)}
    if new["repeat"] is not None and not decoder.repeats:
        raise ExportError(f"{bundle_dir}'s step graph was exported without a repetition prior; "
                          "export it again with --repeat to add one.")
    raw = json.loads((Path(bundle_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
    changed = {name: [list(raw["decoder"].get(name, [])), values]
               for name, values in new.items()
               if values is not None and list(raw["decoder"].get(name, [])) != values}
    for name, (_, values) in changed.items():
        raw["decoder"][name] = values
    if changed:
        raw.setdefault("provenance", {}).setdefault("sampling", []).append(
            {name: {"was": old, "now": now} for name, (old, now) in changed.items()})
    rewrite_bundle(bundle, out_dir, raw)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = bundle_tool_parser("export.sampling", __doc__, "a bundle with a token decoder")
    parser.add_argument("--temperatures", type=_temperatures,
                        help="sampling temperature per codebook stage, comma separated")
    parser.add_argument("--repeat", type=_repeat,
                        help="the repetition prior's strength per stage, comma separated")
    args = parser.parse_args(argv)
    try:
        changed = resample_bundle(args.bundle, args.out, temperatures=args.temperatures,
                                  repeat=args.repeat)
    except (ExportError, EngineError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    said = "; ".join(f"{k} {old} → {now}" for k, (old, now) in changed.items()) or "no change"
    print(f"{args.out or args.bundle}: {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
