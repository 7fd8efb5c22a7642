"""training/recipes/default_bundle.sh: stops when a stage fails, passes the top-k option on.

The recipe runs with a stand-in Python that logs its arguments, so nothing is built.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "training" / "recipes" / "default_bundle.sh"


def run_recipe(tmp_path: Path, fail: str = "", **env: str) -> tuple[int, list[str]]:
    log = tmp_path / "calls.log"
    python = tmp_path / "python"
    python.write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\n'
                      f'[ "$2" = "{fail}" ] && exit 1\nexit 0\n')
    python.chmod(0o755)
    result = subprocess.run(["bash", str(RECIPE)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PY": str(python), "DATA": str(tmp_path / "data"),
                                 "RUNS": str(tmp_path / "runs"), "STAGES": "corpora dataset",
                                 **env})
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def test_a_failed_corpora_build_stops_the_recipe(tmp_path):
    code, calls = run_recipe(tmp_path, fail="build-corpora")
    assert code != 0
    assert len(calls) == 1 and calls[0].startswith("main.py build-corpora")
    assert "--allow-partial" not in calls[0]


def test_dataset_stage_uses_top_k_matching_and_allow_partial_is_opt_in(tmp_path):
    code, calls = run_recipe(tmp_path, ALLOW_PARTIAL="1")
    assert code == 0
    assert calls[0].endswith("--allow-partial")
    data = tmp_path / "data"
    assert calls[1] == (f"main.py build-dataset --paintings {data}/corpora/paintings.train.jsonl "
                        f"--music {data}/corpora/music.jsonl --out {data}/dataset-topk "
                        "--matches-per-row 8")
    other = tmp_path / "argmax"
    other.mkdir()
    code, calls = run_recipe(other, MATCHES_PER_ROW="1", DATASET=str(other / "ds"))
    assert code == 0 and "--allow-partial" not in calls[0]
    assert calls[1].endswith(f"--out {other}/ds --matches-per-row 1")


def test_train_and_export_use_the_token_decoder_by_default(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="train tempo export")
    assert code == 0
    train, tempo, export, bias, shelf = calls
    runs = tmp_path / "runs"
    assert "--objective tokens" in train and "--epochs 4" in train
    assert "--learning-rate 1e-3" in train and train.endswith("--num-threads 1")
    assert tempo.startswith(f"-m training.tempo_head --run {runs}/default --out "
                            f"{runs}/default-tempo")
    assert export.startswith(f"main.py export --checkpoint {runs}/default-tempo ")
    assert export.endswith("--temperatures 1.0,0.8 --repeat 7.5,4.5 --primer-frames 860")
    assert bias == "-m export.code_bias --bundle assets/bundle --strength 2"
    # the same vocoder again, ending in its shelf calibrated on the data set's training clips
    assert shelf == (f"-m export.replace_vocoder --bundle assets/bundle --vocoder universal "
                     f"--music {tmp_path}/data/dataset-topk --hf-shelf auto")
    (tmp_path / "plain").mkdir()
    code, calls = run_recipe(tmp_path / "plain", STAGES="tempo export", REPEAT="",
                             PRIMER_FRAMES="0", HF_SHELF="", CODE_BIAS="0")
    assert code == 0 and calls[-1].endswith("--temperatures 1.0,0.8")
    assert f"--checkpoint {tmp_path}/plain/runs/default " in calls[-1]
    (tmp_path / "paper").mkdir()
    code, calls = run_recipe(tmp_path / "paper", STAGES="train tempo export", OBJECTIVE="paper",
                             HF_SHELF="")
    assert len(calls) == 2
    assert "--objective paper" in calls[0] and "--epochs 30" in calls[0]
    assert "--num-threads" not in calls[0] and "--temperatures" not in calls[1]
    assert "--repeat" not in calls[1] and "--primer-frames" not in calls[1]
    assert not any("export.code_bias" in call for call in calls)


def test_the_palette_stage_fits_a_head_that_export_uses_only_when_asked(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="palette export")
    assert code == 0
    palette, export, _bias, _shelf = calls
    runs = tmp_path / "runs"
    assert palette.startswith(f"-m training.palette_head --run {runs}/default-tempo --out "
                              f"{runs}/default-palette")
    assert f"--checkpoint {runs}/default-tempo " in export and "--palette" not in export
    (tmp_path / "lit").mkdir()
    code, calls = run_recipe(tmp_path / "lit", STAGES="export", PALETTE="2", HF_SHELF="")
    assert code == 0 and f"--checkpoint {tmp_path}/lit/runs/default-palette " in calls[0]
    assert calls[0].endswith("--repeat 7.5,4.5 --palette 2 --primer-frames 860")


def test_the_distill_stage_distils_from_the_bundles_teacher_and_adds_a_light_vocoder(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="distill", DISTILL_SECONDS="60")
    assert code == 0
    distil, replace = calls
    runs, data = tmp_path / "runs", tmp_path / "data"
    assert distil.startswith(f"main.py distill-vocoder --music {data}/dataset-topk "
                             f"--run-dir {runs}/vocoder-k3 --teacher universal ")
    assert "--resume" not in distil and distil.endswith("--max-steps 4500 --max-seconds 60")
    assert replace == (f"-m export.replace_vocoder --bundle assets/bundle --vocoder "
                       f"{runs}/vocoder-k3 --music {data}/dataset-topk --light --hf-shelf auto")
    # a fine-tuned V1 is the teacher when there is one, and a started run resumes
    (runs / "vocoder" / "checkpoints").mkdir(parents=True)
    (runs / "vocoder" / "checkpoints" / "generator.safetensors").write_bytes(b"")
    (runs / "vocoder-k3" / "checkpoints").mkdir(parents=True)
    (runs / "vocoder-k3" / "checkpoints" / "generator.json").write_text("{}")
    (tmp_path / "calls.log").unlink()
    code, calls = run_recipe(tmp_path, STAGES="distill")
    assert code == 0
    assert f"--teacher {runs}/vocoder/checkpoints/generator.safetensors --resume" in calls[0]
    code, calls = run_recipe(tmp_path, fail="distill-vocoder", STAGES="distill")
    assert code != 0 and not calls[-1].startswith("-m export.replace_vocoder")


def test_the_eval_stage_scores_the_token_decoder_as_the_bundle_samples(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="eval")
    assert code == 0
    runs = tmp_path / "runs"
    assert calls[0].startswith(f"main.py eval --checkpoint {runs}/default-tempo ")
    assert calls[0].endswith("--temperatures 1.0,0.8 --samples 4 --musicality-seeds 2 "
                             "--kiosk-draws 3 --kiosk-seed 0 --repeat 7.5,4.5 --primer-frames 860 "
                             "--code-bias 2")
    (tmp_path / "paper").mkdir()
    code, calls = run_recipe(tmp_path / "paper", STAGES="eval", OBJECTIVE="paper")
    assert code == 0 and f"--checkpoint {tmp_path}/paper/runs/default " in calls[0]
    assert "--samples" not in calls[0] and "--primer-frames" not in calls[0]
    assert "--code-bias" not in calls[0]


def test_the_music_light_stage_adds_the_shipped_fine_tune_without_cuda(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="music-light", DEVICE="cpu")
    assert code == 0
    assert calls == [f"-m export.replace_vocoder --bundle assets/bundle --vocoder "
                     f"assets/vocoders/hifigan-v1-k3-music --music {tmp_path}/data/dataset-topk "
                     "--light --hf-shelf auto"]
    assert (ROOT / "assets" / "vocoders" / "hifigan-v1-k3-music" / "generator.json").is_file()


def test_the_music_light_stage_fine_tunes_on_codebook_mels_and_resumes(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="music-light", MUSIC_LIGHT="train", DEVICE="cuda")
    assert code == 0
    runs, data = tmp_path / "runs", tmp_path / "data"
    coded, train, replace = calls
    assert coded == (f"-m training.vocoder.codebook_mels --bundle assets/bundle --dataset "
                     f"{data}/dataset-topk --out {runs}/codebook-mels")
    assert train.startswith(f"main.py train-vocoder --dataset {data}/dataset-topk --run-dir "
                            f"{runs}/vocoder-k3-music --config v1-k3 --init "
                            "assets/vocoders/hifigan-v1-k3/generator.safetensors ")
    assert f"--predicted-mels {runs}/codebook-mels --discriminator-warmup 300" in train
    assert train.endswith("--max-steps 3215 --device cuda --checkpoint-every 500")
    assert replace.endswith(f"--vocoder {runs}/vocoder-k3-music --music {data}/dataset-topk "
                            "--light --hf-shelf auto")
    # the distill stage's run is the start when there is one; a started run resumes
    for run in ("vocoder-k3", "vocoder-k3-music"):
        (runs / run / "checkpoints").mkdir(parents=True)
        (runs / run / "checkpoints" / "generator.safetensors").write_bytes(b"")
        (runs / run / "checkpoints" / "generator.json").write_text("{}")
    (tmp_path / "calls.log").unlink()
    code, calls = run_recipe(tmp_path, STAGES="music-light", MUSIC_LIGHT="train")
    assert code == 0
    assert f"--resume --config v1-k3 --init {runs}/vocoder-k3/checkpoints/generator.safetensors" \
        in calls[1]
    code, calls = run_recipe(tmp_path, fail="train-vocoder", STAGES="music-light",
                             MUSIC_LIGHT="train")
    assert code != 0 and not calls[-1].startswith("-m export.replace_vocoder")


def test_a_started_v1_fine_tune_resumes(tmp_path):
    code, calls = run_recipe(tmp_path, STAGES="vocoder")
    assert code == 0 and "--resume" not in calls[-1]
    checkpoints = tmp_path / "runs" / "vocoder" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "generator.json").write_text("{}")  # what train-vocoder keeps beside it
    code, calls = run_recipe(tmp_path, STAGES="vocoder")
    assert code == 0 and "--resume --config v1 --init universal" in calls[-1]
