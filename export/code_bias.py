"""Adds, re-weights or removes a bundle's log-prior against broadband codes, without the run.

    python -m export.code_bias --bundle assets/bundle --strength 2

The prior (core/code_bias.py) is b [stages, size]: −β on the first-stage codes whose Mel frame
is flatter than the ``--quantile`` of the codebook's, 0 elsewhere. The engine adds it to every
sampled frame's Gumbel noise, which the step graph already adds to the tempered logits
(TokenMelDecoder.step), so no graph changes: this writes ``code_bias.npy`` from the step graph's
own code tables, names it in the manifest's decoder section, records the change under
``provenance.code_bias`` and checks that the engine loads the result. ``--strength 0`` removes it.
The same prior in the PyTorch sampler: ``main.py eval --code-bias β`` (Table IV).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.code_bias import CODE_BIAS_QUANTILE, broadband_code_bias
from engine.bundle import Bundle
from engine.errors import EngineError
from engine.manifest import MANIFEST_NAME, TOKENS
from export.bundle import bundle_tool_parser, rewrite_bundle
from export.errors import ExportError
from training.evaluation.vocoder_floor import bundle_codebook

CODE_BIAS_FILE = "code_bias.npy"


def set_code_bias(bundle_dir: Path, strength: float, out_dir: Path | None = None,
                  quantile: float = CODE_BIAS_QUANTILE) -> dict:
    """Writes the bundle with the prior of strength β = `strength` (0: none); returns what was
    written: {"strength", "quantile", "penalised"} (codes that get −β)."""
    bundle = Bundle.open(bundle_dir, verify=True)
    decoder = bundle.manifest.decoder
    if decoder.kind != TOKENS:
        raise ExportError(f"{bundle_dir} has no token decoder (kind {decoder.kind!r}); only a "
                          "sampling decoder draws codes.")
    books = bundle_codebook(bundle_dir)
    if books is None or books.shape[:2] != (decoder.stages, decoder.codebook_size):
        raise ExportError(f"{bundle_dir}'s step graph holds no {decoder.stages} × "
                          f"{decoder.codebook_size} code tables; re-export the bundle.")
    bias = broadband_code_bias(books, strength, quantile, norm=bundle.manifest.mel_norm)
    raw = json.loads((Path(bundle_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
    raw["decoder"]["code_bias"] = CODE_BIAS_FILE if strength > 0 else None
    record = {"strength": float(strength), "quantile": float(quantile), "stage": 0,
              "penalised": int((bias < 0).sum())}
    raw.setdefault("provenance", {})["code_bias"] = record
    rewrite_bundle(bundle, out_dir, raw, {CODE_BIAS_FILE: bias if strength > 0 else None})
    return record


def main(argv: list[str] | None = None) -> int:
    parser = bundle_tool_parser("export.code_bias", __doc__, "a bundle with a token decoder")
    parser.add_argument("--strength", type=float, required=True,
                        help="β: log-odds taken off each broadband code (0 removes the prior)")
    parser.add_argument("--quantile", type=float, default=CODE_BIAS_QUANTILE,
                        help="codes flatter than this quantile of the first-stage codebook's "
                             "are penalised (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        record = set_code_bias(args.bundle, args.strength, args.out, args.quantile)
    except (ExportError, EngineError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    where = args.out or args.bundle
    if record["strength"] > 0:
        print(f"{where}: {record['penalised']} broadband codes drawn e^{record['strength']:g} "
              "times less")
    else:
        print(f"{where}: no code bias")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
