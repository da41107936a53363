#!/usr/bin/env bash
# Sweeps one common onset threshold through the Rust engine on labelled render folders and prints,
# per drum, the per-clip mean F at each threshold and the best one (ties: nearest 0.5).
#   model/scripts/calibrate-thresholds.sh MODEL.onnx SET [SET ...]
# A drum's F depends only on its own threshold, so one pass per threshold serves all drums.
# Every SET (a folder under model/cache) is pooled: clips from all of them count once each.
# Transcriptions go to ${SCORE_DIR:-/tmp/hitscribe-scores}/calibrate-*; the table to stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release --quiet -p hitscribe-cli
model=$1
shift
thresholds=${THRESHOLDS:-"0.30 0.35 0.40 0.45 0.50 0.55 0.60 0.65 0.70"}
out=${SCORE_DIR:-/tmp/hitscribe-scores}
pool="$out/calibrate-data"
rm -rf "$pool"
mkdir -p "$pool"
for set in "$@"; do  # one folder of uniquely named links, so one score pass sees every clip
  for f in model/cache/"$set"/clip_*; do ln -s "$root/$f" "$pool/${set}_$(basename "$f")"; done
done
for t in $thresholds; do
  dir="$out/calibrate-$t"
  rm -rf "$dir"
  mkdir -p "$dir"
  HITSCRIBE_MODEL="$model" target/release/hitscribe transcribe "$pool"/*.wav -o "$dir" --tsv "$dir" --quiet \
    --threshold kick="$t" --threshold snare="$t" --threshold hihat="$t"
  model/.venv/bin/hitscribe-train score-tsv --data "$pool" --est "$dir" --report "$dir.json" >/dev/null 2>&1
done
model/.venv/bin/python - "$out" $thresholds <<'PY'
import json
import sys

out, *ts = sys.argv[1:]
reports = {t: json.load(open(f"{out}/calibrate-{t}.json")) for t in ts}
print("threshold  " + "  ".join(f"{c:>6s}" for c in ("kick", "snare", "hihat")) + "    mean")
for t, r in reports.items():
    print(f"{t:>9s}  " + "  ".join(f"{r[c]['f']:.4f}" for c in ("kick", "snare", "hihat")) + f"  {r['mean_f']:.4f}")
best = {
    c: max(ts, key=lambda t, c=c: (round(reports[t][c]["f"], 4), -abs(float(t) - 0.5)))
    for c in ("kick", "snare", "hihat")
}
print("best: " + " ".join(f"{c}={t}" for c, t in best.items()))
PY
