#!/usr/bin/env python3
"""Mutation testing of core/, engine/ and export/ with mutmut 3 (README, "Mutation testing").

Not part of CI: a full run has over 5 000 mutants at 5-10 s each on 2 cores (about 4-7 hours),
so by default this runs a seeded uniform random sample of them and prints the score with a 95 %
Wilson interval; ``--all`` runs every mutant. Configuration (what is mutated, which tests run,
which message and log lines are left out) is ``[tool.mutmut]`` in pyproject.toml.

    .venv/bin/pip install -e ".[mutation]"
    .venv/bin/python .ci/mutation.py --sample 400 --seed 0      # or --all
    .venv/bin/mutmut show <mutant name>                          # the diff of one survivor

The score counts killed and timed-out mutants (a mutant that makes a test hang is detected) over
all sampled mutants; mutants no test reaches count as survivors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
STATUS_BY_EXIT_CODE = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
                       34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout",
                       152: "timeout", 255: "timeout", 37: "caught by type check",
                       -11: "segfault", -9: "segfault", None: "not checked"}


def mutant_exit_codes(root: Path) -> dict[str, int | None]:
    """Every generated mutant's name with its last exit code (None: not run yet)."""
    codes: dict[str, int | None] = {}
    for meta in sorted((root / "mutants").rglob("*.meta")):
        codes.update(json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {}))
    return codes


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def run_mutmut(names: list[str], children: int) -> None:
    subprocess.run([*MUTMUT, "run", "--max-children", str(children), *names], cwd=REPO,
                   check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sample", type=int, default=400, help="mutants drawn at random (400)")
    group.add_argument("--all", action="store_true", help="run every mutant (hours on 2 cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random sample (0)")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report", type=Path, default=REPO / "runs" / "mutation.json")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    # Mutants of core/ and engine/ reuse one tiny bundle exported here by unmutated code
    # (tests/conftest.py, A2M_TINY_BUNDLE_CACHE); export/ mutants always export their own.
    os.environ.setdefault("A2M_TINY_BUNDLE_CACHE", tempfile.mkdtemp(prefix="a2m-mutation-"))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "tests/engine/test_engine.py::test_stages_return_what_the_contract_promises"],
                   cwd=REPO, check=True)
    # Generates every mutant and records which tests reach which function (one small batch).
    run_mutmut(["core.audio_config.*"], args.children)
    names = sorted(mutant_exit_codes(REPO))
    chosen = names if args.all else sorted(random.Random(args.seed).sample(
        names, min(args.sample, len(names))))
    run_mutmut(chosen, args.children)

    codes = mutant_exit_codes(REPO)
    statuses = {name: STATUS_BY_EXIT_CODE.get(codes.get(name), "suspicious") for name in chosen}
    counts = Counter(statuses.values())
    scored = [name for name, status in statuses.items() if status not in ("skipped", "not checked")]
    detected = sum(statuses[name] in DETECTED for name in scored)
    low, high = wilson_interval(detected, len(scored))
    minutes = (time.perf_counter() - start) / 60
    report = {
        "mutants_total": len(names), "sampled": len(chosen), "seed": None if args.all else args.seed,
        "scored": len(scored), "detected": detected,
        "score": detected / len(scored) if scored else 0.0, "score_95ci": [low, high],
        "counts": dict(counts), "minutes": round(minutes, 1),
        "survivors": sorted(n for n, s in statuses.items() if s not in DETECTED
                            and s not in ("skipped", "not checked")),
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"\nmutation score {report['score']:.1%} ({detected}/{len(scored)}; 95 % CI "
          f"{low:.1%}-{high:.1%}) on {len(chosen)} of {len(names)} mutants in {minutes:.0f} min;"
          f" {dict(counts)}; survivors listed in {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
