"""bench/gpu_run.sh, the prepared GPU run, in its tiny CPU mode: every stage, every file.

`GPU_RUN_TINY=1` runs the same stages as on a GPU machine (bench with the TensorRT, CUDA and CPU
provider lists, cold and warm engine caches, the tables, the HiFi-GAN fine-tune) with the CPU
provider, the tests' tiny bundle and 2 steps of the tiny HiFi-GAN.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu_run.sh"
RUNS = ("tensorrt-cold", "tensorrt-warm", "cuda")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _run(out: Path, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", str(SCRIPT), str(out)], cwd=REPO, capture_output=True,
                            text=True, timeout=600,
                            env={**os.environ, "GPU_RUN_TINY": "1", "OMP_NUM_THREADS": "1", **env})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_tiny_run_writes_every_table_figure_and_the_checkpoint(tiny_bundle, tmp_path):
    from tests.training.test_vocoder_finetune import write_wav_dataset

    (tmp_path / "music").mkdir()
    dataset = write_wav_dataset(tmp_path / "music")
    out, pack = tmp_path / "run", tmp_path / "pack"
    _run(out, GPU_RUN_BUNDLE=str(tiny_bundle), GPU_RUN_UNTRAINED_BUNDLE=str(tiny_bundle),
         GPU_RUN_DATASET=str(dataset), GPU_RUN_PACK=str(pack))

    stages = {row["stage"]: row for row in _rows(out / "stages.csv")}
    assert stages["install"]["status"].startswith("skipped")
    failed = {name: row for name, row in stages.items()
              if name != "install" and row["status"] != "ok"}
    assert not failed, failed
    assert "nvidia-smi" in (out / "environment.txt").read_text()

    build = {row["bundle"]: row for row in _rows(out / "tensorrt_build.csv")}
    assert set(build) == {"default", "untrained-b32"}
    table = _rows(out / "gpu_table.csv")
    for bundle in ("default", "untrained-b32"):
        loads = {}
        for run in (*RUNS, "cpu") if bundle == "default" else RUNS:
            folder = out / "bench" / f"{bundle}-{run}"
            assert (folder / "latency.png").stat().st_size > 10_000
            facts = {row["key"]: row["value"] for row in _rows(folder / "summary.csv")}
            assert facts["providers"] == "CPUExecutionProvider"  # tiny mode: the CPU provider
            loads[run] = float(facts["engine_load_s"])
            assert loads[run] > 0
            engine_rows = [r for r in _rows(folder / "latency.csv") if r["backend"] == "engine"]
            mine = [r for r in table if r["bundle"] == bundle and r["run"] == run]
            assert [(r["stage"], r["median_ms"]) for r in mine] == \
                [(r["stage"], r["median_ms"]) for r in engine_rows]
        # the build time is the cold load minus the warm one, apart from the latency rows
        assert float(build[bundle]["build_s"]) == pytest.approx(
            loads["tensorrt-cold"] - loads["tensorrt-warm"], abs=2e-3)
    assert "image → first block" in (out / "gpu_table.md").read_text()

    generator = out / "vocoder" / "checkpoints" / "generator.safetensors"
    assert load_file(generator)  # a loadable fine-tuned generator
    steps = (out / "vocoder" / "losses.jsonl").read_text().splitlines()
    assert len(steps) == 2

    # the pack for a lent machine's $OUT: few files, the checkpoint in parts
    parts = sorted(pack.glob("generator.safetensors.part-*"))
    assert b"".join(p.read_bytes() for p in parts) == generator.read_bytes()
    with tarfile.open(pack / "results.tar.gz") as archive:
        names = set(archive.getnames())
        assert {"./gpu_table.csv", "./tensorrt_build.csv", "./stages.csv",
                "./bench/default-cuda/latency.png"} <= names
        packed = archive.extractfile("./gpu_table.csv").read().decode()
    assert list(csv.DictReader(io.StringIO(packed))) == table
    assert len(list(pack.iterdir())) <= 8


def test_a_spent_budget_skips_every_stage_and_still_leaves_the_record(tmp_path):
    out = tmp_path / "run"
    result = _run(out, GPU_RUN_BUDGET_S="1", GPU_RUN_DATASET=str(tmp_path / "none"))
    stages = _rows(out / "stages.csv")
    assert stages and all(row["status"].startswith("skipped") for row in stages), stages
    assert "skip bench-default-tensorrt-cold" in result.stdout
    assert not (out / "bench" / "default-cuda").exists()
