#!/usr/bin/env bash
# How the input level moves the score: copies each SET (a render folder under model/cache) with
# every clip peak-normalised to each LEVEL (dBFS), then scores the copies through the engine
# (model/scripts/score-sets.sh), one line each. Results: model/results/v26-error-sources.md.
#   model/scripts/level-robustness.sh MODEL.onnx TAG SET [SET ...]
# LEVELS (default "-1 -6 -12 -16 -20 -24 -28 -34") chooses the peak levels.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
model=$1
tag=$2
shift 2
levels=${LEVELS:-"-1 -6 -12 -16 -20 -24 -28 -34"}
copies=()
for set in "$@"; do
  for level in $levels; do
    copy="$set-peak${level#-}"
    model/.venv/bin/python - "model/cache/$set" "model/cache/$copy" "$level" <<'PY'
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

src, dst, level = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
dst.mkdir(parents=True, exist_ok=True)
for wav in sorted(src.glob("clip_*.wav")):
    audio, sr = sf.read(str(wav), dtype="float32")
    audio = audio / max(float(np.abs(audio).max()), 1e-9) * 10 ** (level / 20)
    sf.write(str(dst / wav.name), audio, sr, subtype="FLOAT")
    shutil.copy(wav.with_suffix(".tsv"), dst)
shutil.copy(src / "info.json", dst)
PY
    copies+=("$copy")
  done
done
model/scripts/score-sets.sh "$model" "$tag" "$@" "${copies[@]}"
