#!/usr/bin/env bash
# Qualitative check on real recordings: transcribes the CC0 drum breaks of Debian's
# sonic-pi-samples (real kits in real rooms, never used in training: only that package's
# one-shots are) through the engine and prints each class on a 16th-note grid
# (X velocity >= 64, x below). No reference annotation exists here, so this is read, not scored.
#   model/scripts/real-loops.sh [MODEL.onnx]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release --quiet -p hitscribe-cli   # a no-op when up to date; never scores a stale CLI
model=${1:-assets/models/hitscribe-causal.onnx}
samples=/usr/share/sonic-pi/samples
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# name:bars (each loop is a whole number of 4/4 bars)
for loop in loop_amen:1 loop_amen_full:4 loop_breakbeat:2; do
  name=${loop%%:*}
  HITSCRIBE_MODEL="$model" target/release/hitscribe transcribe "$samples/$name.flac" -o "$out" --tsv "$out" --quiet
  model/.venv/bin/python - "$samples/$name.flac" "$out/$name.tsv" "${loop##*:}" <<'PY'
import csv
import sys

import soundfile

audio, tsv, bars = sys.argv[1], sys.argv[2], int(sys.argv[3])
sixteenth = soundfile.info(audio).duration / (16 * bars)
notes = [(float(t), cls, int(vel)) for t, cls, vel in csv.reader(open(tsv), delimiter="\t")]
print(f"{audio.rsplit('/', 1)[-1]}  ({bars} bar(s), {len(notes)} notes)")
for cls in ("kick", "snare", "hihat"):
    grid = ["."] * (16 * bars)
    for t, c, vel in notes:
        i = round(t / sixteenth)
        if c == cls and i < len(grid):
            grid[i] = "X" if vel >= 64 else "x"
    beats = ["".join(grid[i : i + 4]) for i in range(0, len(grid), 4)]
    print(f"  {cls:6s} " + " | ".join(" ".join(beats[b : b + 4]) for b in range(0, len(beats), 4)))
PY
done
