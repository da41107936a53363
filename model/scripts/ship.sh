#!/usr/bin/env bash
# Reproduces the shipped model end to end on this 2-core machine (about 100 minutes):
# kits -> labelled validation (held-out kits) and tuning (training kits) renders -> training
# -> threshold tuning on the tuning set -> evaluation on held-out kits -> ONNX export.
# Resumable: re-running continues the training run from its checkpoint.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
"$root/model/scripts/install-kits.sh"
[ -x model/.venv/bin/hitscribe-train ] || model/scripts/setup-venv.sh
train=model/.venv/bin/hitscribe-train
run=${RUN:-model/runs/main}
minutes=${MINUTES:-95}
[ -f model/cache/kits/manifest.json ] || $train --cache model/cache prepare-kits
[ -d model/cache/validation ] || $train --cache model/cache synth --out model/cache/validation --clips 60 --seconds 10 --seed 1234
[ -d model/cache/tune ] || $train --cache model/cache synth --split train --out model/cache/tune --clips 30 --seed 999
$train --cache model/cache train --run "$run" --max-minutes "$minutes" --batch 12 --seconds 2.5 \
  --unsupervised-weight 0.5 --unsupervised-items 2 --threads 1 --workers 1 --lookahead 2
$train evaluate --checkpoint "$run/checkpoint.pt" --tune model/cache/tune --data model/cache/validation \
  --report "$run/eval-offline.json"
thresholds=$(python3 -c "import json;print(' '.join(str(t) for t in json.load(open('$run/eval-offline.json'))['thresholds']))")
$train export --checkpoint "$run/checkpoint.pt" --thresholds $thresholds \
  --data-summary "$(cat model/DATA_SUMMARY.txt)" --out assets/models/hitscribe-causal-v1.onnx
$train evaluate --checkpoint "$run/checkpoint.pt" --thresholds $thresholds --data model/cache/validation \
  --streaming --onnx assets/models/hitscribe-causal-v1.onnx --report "$run/eval-streaming.json"
