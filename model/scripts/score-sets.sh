#!/usr/bin/env bash
# Scores an exported model through the Rust engine (CLI) on labelled render folders, one line each.
#   model/scripts/score-sets.sh MODEL.onnx TAG [SET ...]
# SET is a folder name under model/cache (default: the four held-out sets of the ship rules).
# Transcriptions and the score-tsv report of each set go to ${SCORE_DIR:-/tmp/hitscribe-scores}/TAG-SET.
# Builds the release CLI (a no-op when it is up to date); needs the trainer venv and the renders (ship.sh makes them).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release --quiet -p hitscribe-cli   # a no-op when up to date; never scores a stale CLI
model=$1
tag=$2
shift 2
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(validation validation-b validation-mics validation-mics-b)
out=${SCORE_DIR:-/tmp/hitscribe-scores}
for set in "${sets[@]}"; do
  dir="$out/$tag-$set"
  rm -rf "$dir"
  mkdir -p "$dir"
  HITSCRIBE_MODEL="$model" target/release/hitscribe transcribe model/cache/"$set"/*.wav -o "$dir" --tsv "$dir" --quiet
  model/.venv/bin/hitscribe-train score-tsv --data model/cache/"$set" --est "$dir" --report "$dir.json" >/dev/null 2>&1
  model/.venv/bin/python - "$tag" "$set" "$dir.json" <<'PY'
import json
import sys

tag, name, path = sys.argv[1:]
r = json.load(open(path))
per_class = " / ".join(f"{r[c]['f']:.3f}" for c in ("kick", "snare", "hihat"))
print(
    f"{tag}  {name:22s} F {r['mean_f']:.4f} ({per_class})  pooled {r['mean_f_pooled']:.4f}"
    f"  velocity r per file {r['mean_velocity_r_per_file']:.3f}"
)
PY
done
