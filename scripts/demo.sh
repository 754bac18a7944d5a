#!/usr/bin/env bash
# Set up, then translate a real English recording into Spanish in the speaker's voice.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${VENV:-.venv}"
mkdir -p out
"$VENV"/bin/voxlate translate /usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav \
  --source en --target es -o out/talk.es.wav --report out/talk.es.json --srt out/talk.es.srt
echo "Wrote out/talk.es.wav, out/talk.es.json and out/talk.es.srt"
