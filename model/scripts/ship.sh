#!/usr/bin/env bash
# Reproduces the shipped model end to end on this 2-core machine (about 1,758 minutes in
# twenty-four runs): kits -> labelled validation (held-out kits) and tuning (training kits) renders ->
# run 1 (v1 recipe, 110 min) -> export -> run 2 (fine-tuning with kit voicing, 110 min, started
# from run 1's export) -> export -> run 3 (fine-tuning on 52 training kits with the auxiliary
# component-onset loss, 100 min, started from run 2's export) -> runs 5 to 8 (55, 33, 85 and 45
# min, each fine-tuning the previous export: lower learning rates, microphones, mixed kits, the
# velocity correlation term) -> run 12 (95 min: frequency masking and dropout) -> threshold
# tuning report -> evaluation on held-out kits -> runs 15, 16a and 18a (35, 85 and 85 min: the
# component loss at weight 1.0, then the 2-D front end widened to 24 channels) -> run 21a (70 min
# from 18a with procedural kits) -> run 26 (90 min from 18a, distilling the mean of 18a and 21a:
# v26) -> runs 32, 34, probe 36, 37 and 43 (95, 85, 25, 85 and 80 min, each from the previous
# export: stream starts, cut clips, ride-led grooves and hard negatives, start takes on any hit,
# extra weight on first hits after 0.6 s of quiet) and probe 38 (35 min from run 37: first-hit
# weight 4) -> v43s, the weight average of v26 and run 43 -> runs 45 and 50 (95 and 80 min from
# v43s: run 43's recipe, then first-hit weights 2 / 2 / 1) -> q5, the uniform weight average of
# v26, runs 43, 45, 50 and probe 38 -> runs 56 and 58 and probe 60 (70, 70 and 40 min, each from
# the previous export, on the loss with the spill-frame fault fixed: hard negatives at weight 2,
# first-hit weights up to 5 on the hi-hat) -> p60s, the uniform weight average of q5 and probe 60
# -> ONNX export.
# Resumable: re-running continues each run from its checkpoint. (The shipped runs 1 and 2
# predate the extra kits of run 3 and run 1 predates kit voicing; the loader now always uses
# both, so runs 1 and 2 are reproduced in spirit, not bit for bit.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
"$root/model/scripts/install-kits.sh"
[ -x model/.venv/bin/hitscribe-train ] || model/scripts/setup-venv.sh
train=model/.venv/bin/hitscribe-train
run=${RUN:-model/runs/main}
run2=${RUN2:-model/runs/v2}
run3=${RUN3:-model/runs/v3}
run5=${RUN5:-model/runs/v5}
run6=${RUN6:-model/runs/v6}
run7=${RUN7:-model/runs/v7}
run8=${RUN8:-model/runs/v8}
run12=${RUN12:-model/runs/v12}
# Phase 1 (to 70 min): supervised + 0.5 x unsupervised; phase 2 (to 110 min): supervised only
# (the ablations showed the unsupervised term slows the supervised one at equal steps).
[ -f model/cache/kits/manifest.json ] || $train --cache model/cache prepare-kits
[ -d model/cache/validation ] || $train --cache model/cache synth --out model/cache/validation --clips 60 --seconds 10 --seed 1234
[ -d model/cache/tune ] || $train --cache model/cache synth --split train --out model/cache/tune --clips 30 --seed 999
$train --cache model/cache train --run "$run" --max-minutes 70 --batch 12 --seconds 2.5 \
  --unsupervised-weight 0.5 --unsupervised-items 2 --threads 1 --workers 1 --lookahead 2
$train --cache model/cache train --run "$run" --max-minutes 110 --batch 12 --seconds 2.5 \
  --unsupervised-weight 0 --threads 1 --workers 1 --lookahead 2
$train export --checkpoint "$run/checkpoint.pt" --name hitscribe-causal-v1 --out "$run/v1.onnx"
# Run 2: supervised fine-tuning from run 1 with kit voicing, lower learning rate.
$train --cache model/cache train --run "$run2" --init-onnx "$run/v1.onnx" --max-minutes 110 --batch 12 \
  --seconds 2.5 --lr 5e-4 --unsupervised-weight 0 --threads 1 --workers 1 --lookahead 2
$train export --checkpoint "$run2/checkpoint.pt" --name hitscribe-causal-v2 --out "$run2/v2.onnx"
# Run 3: 52 training kits (MuseScore, TimGM6mb, LMMS, Sonic Pi added) and an auxiliary onset
# loss on every synthesiser component (toms, rides, crashes get their own rows).
$train --cache model/cache train --run "$run3" --init-onnx "$run2/v2.onnx" --max-minutes 100 --batch 12 \
  --seconds 2.5 --lr 5e-4 --unsupervised-weight 0 --component-weight 0.25 --threads 1 --workers 1 \
  --lookahead 2 --seed 3
$train export --checkpoint "$run3/checkpoint.pt" --name hitscribe-causal-v3 --out "$run3/v3.onnx"
# Run 5: run 3's recipe again from its weights at a lower learning rate. (Run 4, a 10 ms
# look-ahead fine-tune, was stopped and is not part of the shipped model.)
$train --cache model/cache train --run "$run5" --init-onnx "$run3/v3.onnx" --max-minutes 55 --batch 12 \
  --seconds 2.5 --lr 3e-4 --unsupervised-weight 0 --component-weight 0.25 --threads 1 --workers 1 \
  --lookahead 2 --seed 5
$train export --checkpoint "$run5/checkpoint.pt" --name hitscribe-causal-v5 --out "$run5/v5.onnx"
# Run 6: run 5's recipe with microphone bleed in half the training clips (synth.TRAINING_OPTIONS).
$train --cache model/cache train --run "$run6" --init-onnx "$run5/v5.onnx" --max-minutes 33 --batch 12 \
  --seconds 2.5 --lr 3e-4 --unsupervised-weight 0 --component-weight 0.25 --threads 1 --workers 1 \
  --lookahead 2 --seed 6
$train export --checkpoint "$run6/checkpoint.pt" --name hitscribe-causal-v6 --out "$run6/v6.onnx"
# Run 7: lower learning rate, instruments from mixed kits in half the clips.
$train --cache model/cache train --run "$run7" --init-onnx "$run6/v6.onnx" --max-minutes 85 --batch 12 \
  --seconds 2.5 --lr 2e-4 --unsupervised-weight 0 --component-weight 0.25 --threads 1 --workers 1 \
  --lookahead 2 --seed 7 --mix-kits-p 0.5
$train export --checkpoint "$run7/checkpoint.pt" --name hitscribe-causal-v7 --out "$run7/v7.onnx"
# Run 8: run 7's recipe plus the within-clip velocity correlation term.
$train --cache model/cache train --run "$run8" --init-onnx "$run7/v7.onnx" --max-minutes 45 --batch 12 \
  --seconds 2.5 --lr 2e-4 --unsupervised-weight 0 --component-weight 0.25 --velocity-corr-weight 0.2 \
  --threads 1 --workers 1 --lookahead 2 --seed 8 --mix-kits-p 0.5
$train export --checkpoint "$run8/checkpoint.pt" --name hitscribe-causal-v8 --out "$run8/v8.onnx"
# Run 12: run 8's recipe at 3e-4 with training-only regularisation (frequency masking, dropout).
$train --cache model/cache train --run "$run12" --init-onnx "$run8/v8.onnx" --max-minutes 95 --batch 12 \
  --seconds 2.5 --lr 3e-4 --unsupervised-weight 0 --component-weight 0.25 --velocity-corr-weight 0.2 \
  --threads 1 --workers 1 --lookahead 2 --seed 12 --mix-kits-p 0.5 --freq-mask-p 0.5 --freq-mask-bands 8 \
  --dropout 0.1
[ -d model/cache/validation-mics ] || $train --cache model/cache synth --out model/cache/validation-mics \
  --clips 30 --seconds 10 --seed 4321 --mics-p 1
# Second renders of both held-out conditions with new seeds (the ship rules from run 12 on decide
# on all four sets: model/scripts/score-sets.sh).
[ -d model/cache/validation-b ] || $train --cache model/cache synth --out model/cache/validation-b \
  --clips 60 --seconds 10 --seed 1235
[ -d model/cache/validation-mics-b ] || $train --cache model/cache synth --out model/cache/validation-mics-b \
  --clips 30 --seconds 10 --seed 4322 --mics-p 1
# Realism checks (reported, not used to decide): continuous 60 s held-out renders, and the held-out
# clips joined into one stream that changes kit, level and mix every 10 s.
[ -d model/cache/validation-60s ] || $train --cache model/cache synth --out model/cache/validation-60s \
  --clips 10 --seconds 60 --seed 777
# A second 60 s render (from run 14 on; the ship rules' 60 s condition is noisy on ten clips).
[ -d model/cache/validation-60s-b ] || $train --cache model/cache synth --out model/cache/validation-60s-b \
  --clips 10 --seconds 60 --seed 778
[ -d model/cache/validation-long ] || $train --cache model/cache join-set --data model/cache/validation \
  --out model/cache/validation-long
# Thresholds tuned on training-kit renders are reported but not shipped (they scored lower on
# held-out kits than the untuned 0.5 for v1 and v2; see assets/models/README.md).
$train evaluate --checkpoint "$run12/checkpoint.pt" --tune model/cache/tune --data model/cache/validation \
  --report "$run12/eval-offline-tuned.json"
$train evaluate --checkpoint "$run12/checkpoint.pt" --thresholds 0.5 0.5 0.5 --data model/cache/validation \
  --report "$run12/eval-offline.json"
$train export --checkpoint "$run12/checkpoint.pt" --name hitscribe-causal-v12 --thresholds 0.5 0.5 0.5 \
  --data-summary "$(cat model/DATA_SUMMARY.txt)" --out assets/models/hitscribe-causal.onnx
$train evaluate --checkpoint "$run12/checkpoint.pt" --thresholds 0.5 0.5 0.5 --data model/cache/validation \
  --streaming --onnx assets/models/hitscribe-causal.onnx --report "$run12/eval-streaming.json"
# Run 9 (candidate, not shipped: the engine cost a median 1.05 % of one core against the rule's 1 %;
# model/results/ship-rule-v9.md): v8 with a 24-channel 2-D front end, 90 more minutes.
#   $train --cache model/cache train --run model/runs/v9 --init-onnx "$run8/v8.onnx" \
#     --conv2d-channels 24 --max-minutes 90 --batch 12 --seconds 2.5 --lr 3e-4 --unsupervised-weight 0 \
#     --component-weight 0.25 --velocity-corr-weight 0.2 --threads 1 --workers 1 --lookahead 2 --seed 9 \
#     --mix-kits-p 0.5
# Run 10 (control for run 9, not shipped: held-out 0.689; model/results/ship-rule-v10.md): v8's
# width, the same recipe for 40 minutes: as run 9 without --conv2d-channels, --max-minutes 40 --seed 10.
# Run 11 (not shipped: microphone set 0.738, average with the plain set 0.7165 < 0.7215;
# model/results/ship-rule-v11.md): v8 with timbre augmentation, 5 s clips and carried GRU state.
#   $train --cache model/cache train --run model/runs/v11 --init-onnx "$run8/v8.onnx" \
#     --max-minutes 100 --batch 6 --seconds 5 --lr 3e-4 --unsupervised-weight 0 --component-weight 0.25 \
#     --velocity-corr-weight 0.2 --threads 1 --workers 1 --lookahead 2 --seed 11 --mix-kits-p 0.5 \
#     --voicing-p 0.8 --voicing-eq-p 0.5 --blend-p 0.3 --carry-state-p 0.8
# Run 12b (control for run 12, not shipped: composite 0.721 against v8's 0.727;
# model/results/ship-rule-v12.md): run 11's timbre augmentation alone, as run 12 without the
# regularisation and with --seed 13 --voicing-p 0.8 --voicing-eq-p 0.5 --blend-p 0.3.
# Run 13 (not shipped: composite 0.735 against the 0.739 its rule needed; model/results/ship-rule-v13.md):
# v12 for 35 min at --lr 2e-4 --seed 13 with --freq-mask-p 0.8 --freq-mask-bands 12 --dropout 0.2.
# Runs 14a and 14b (not shipped: composites 0.736 and 0.739, 14b's 60 s renders 0.0002 under its bar;
# model/results/ship-rule-v14.md): v12 for 90 min side by side at --lr 3e-4, 14a with --seed 14
# --freq-mask-p 0.8 --freq-mask-bands 12 --dropout 0.2, 14b with --seed 15 --freq-mask-p 0.9
# --freq-mask-bands 16 --dropout 0.3; 14s = `$train average --checkpoints model/runs/v14a/checkpoint.pt
# model/runs/v14b/checkpoint.pt --out model/runs/v14s/checkpoint.pt`. 14b's export is in model/candidates/.
# Run 15 (a probe, not shipped: composite 0.741; model/results/ablation-v15-component-weight.md): v12 for
# 35 min, run 12's recipe with --component-weight 1.0 --seed 16; fresh renders (ship-rule-v15.md): 0.713
# against 0.709, short of its bar. Its export is in model/candidates/.
# Runs 16a and 16b (not shipped: 16a's fresh-render mean 0.7212 against the 0.7248 its rule needed;
# model/results/ship-rule-v16.md): v15 for 85 min side by side with run 15's recipe, 16a --seed 17,
# 16b --seed 18 --distractor-weight 2.0 (init model/candidates/hitscribe-causal-v15.onnx). 16a's
# export is in model/candidates/.
# 17s (not shipped: fresh-render mean 0.7279 against the 0.7317 its rule needed;
# model/results/ship-rule-v17.md): `$train average --checkpoints assets/models/hitscribe-causal.onnx
# model/runs/v16a/checkpoint.pt --out model/runs/v17s/checkpoint.pt`, then export.
# Runs 19 / 19b (not shipped: fresh-render means 0.7164 / 0.7190 against v18a's 0.7239;
# model/results/ship-rule-v19.md) and 20a / 20b (not shipped: 0.7136 / 0.7191 against 0.7171;
# ship-rule-v20.md): v18a's export for 55 / 70 min with the recipe below plus --conv2d-channels 24; 19 --seed 21,
# 19b --seed 22 --component-weight 2.0, 20a --seed 23 --mix-kits-p 0.8, 20b --seed 24 --voicing-p 0.9.
# Runs 21a / 21b (not shipped: 0.7345 / 0.7307 against v18a's 0.7316, bar +0.005; ship-rule-v21.md):
# v18a's export for 70 min with the recipe below plus --conv2d-channels 24 and procedural kits,
# 21a --seed 25 --procedural-p 0.25 (kept: model/candidates/hitscribe-causal-v21a.onnx), 21b --seed 26 --procedural-p 0.5.
# Run 22 (not shipped: 0.7364 against 0.7395; ship-rule-v22.md): 21a's export for 45 min, same recipe, --seed 27.
# Run 23 (not shipped: 0.7130 against 0.7120, bar 0.7170; ship-rule-v23.md): 21a's export for 70 min, same recipe
# plus --procedural-distinct-cymbals, --seed 28.
# Runs 24 / 25 (not shipped: 0.7328 against 0.7381 and 0.7080 against 0.7210; ship-rule-v24.md, -v25.md):
# v18a's export for 70 / 60 min with the recipe below plus --conv2d-channels 24 --share-weight 0.5,
# 24 --seed 29, 25 --seed 30 --head-warmup-steps 1000 --lr 1.5e-4.
# Run 27 (not shipped: 0.7494 against v26's 0.7527, bar +0.005; ship-rule-v27.md): v26's export for 45 min,
# run 26's recipe with --seed 31 and --teacher-onnx v26 v21a v16a.
# Run 28 (not shipped: 0.7248 against v26's 0.7226 on two fresh pairs, bar +0.005, and about 20 % dearer;
# ship-rule-v28.md): v26's export with --gru-hidden 160 for 115 min, run 26's recipe with --seed 32 and
# --teacher-onnx v18a v21a (v18a.onnx: `git show 0e1cc70^:assets/models/hitscribe-causal.onnx`).
# Run 31 (not shipped: 60 s renders 0.8348 against the 0.8365 its rule needed, first-hit recall 0.571
# against 0.605; ship-rule-v31.md): v26's export for 95 min, run 26's recipe without a teacher, --seed 35
# --procedural-p 0.25 --start-p 0.3 --stop-p 0.2, with the 61 training kits (runs 29 and 30 were stopped early).
# Run 32 (not shipped: more hi-hat notes on ride hits, 16 against v26's 14 on the real Amen break;
# ship-rule-v32.md; kept as model/candidates/hitscribe-causal-v32.onnx): v26's export for 95 min, run 31's
# command with --seed 36 --cut-p 0.3.
# Run 34 (not shipped: first hits after silence 0.701 against the 0.792 its rule needed; ship-rule-v34.md;
# kept as model/candidates/hitscribe-causal-v34.onnx): run 32's export for 85 min, run 32's command with
# --seed 38 --distractor-weight 1.0 --ride-p 0.4.
# Probe 35 (exploratory; model/candidates/hitscribe-causal-p35.onnx; probe-35-start-p.md): run 34's export
# for 35 min, run 34's command with --seed 40 --start-p 0.5.
# Probe 36 (exploratory; model/candidates/hitscribe-causal-p36.onnx; probe-36-start-anywhere.md): run 34's
# export for 25 min, probe 35's command with --seed 41 --start-anywhere-p 0.5 (in the lineage below).
# Run 37 alone (not shipped: first hits after silence 0.776 against the 0.804 its rule needed;
# ship-rule-v36.md; kept as model/candidates/hitscribe-causal-v37.onnx); its average with v26 ships.
# Run 38 = probe 38 (exploratory then, ship-rule-v37.md; one of q5's five ingredients, built below): run 37's export for 35 min, run 37's command with --seed 43
# --first-hit-weight 4 (probe-38-first-hit-weight.md). Probe 39 (exploratory, probe-39-first-hit-weight-1.md; kept as
# model/candidates/hitscribe-causal-p39.onnx): run 37's export for 28 min, the same with --seed 44 --first-hit-weight 1.
# Run 40 (not shipped, nor its average with v26: ride false hi-hats 316 / 322 against v37s's 266;
# ship-rule-v38.md; kept as model/candidates/hitscribe-causal-v40.onnx): probe 39's export for 80 min,
# the same with --seed 45.
# Run 41 (not shipped, nor its average with v26; ship-rule-v39.md; kept as
# model/candidates/hitscribe-causal-v41.onnx): run 37's export for 35 min, run 37's command with --seed 46
# --first-hit-weight 2 --first-hit-quiet 0.6. Probe 42 (exploratory, probe-42-first-hit-quiet-longer.md; kept as
# model/candidates/hitscribe-causal-p42.onnx): run 41's export for 25 min more, the same with --seed 47.
# Probe 44 (exploratory, probe-44-crash-lead.md; no gain, not kept): run 43's export for 35 min, run 43's
# command with --seed 49 --crash-lead-p 0.3.
# Run 45 (not shipped, nor its mixtures with v43s: ship-rule-v41.md, -v42.md; kept as
# model/candidates/hitscribe-causal-v45.onnx): v43s for 95 min, run 43's command with --seed 50.
# Run 47 (not shipped, nor its even average with 45t: ship-rule-v43.md; kept as
# model/candidates/hitscribe-causal-v47.onnx): 45t (average of v45 x3 and v43s) for 80 min, run 43's command
# with --seed 52 --first-hit-weight 2 --first-hit-classes kick snare. Probe 48 (exploratory,
# probe-48-lofi-voicing.md): v43s for 45 min, run 43's command with --seed 53 --voicing-lowpass-p 0.3.
# Probe 49 (exploratory, probe-49-first-hit-classes-from-v43s.md): v43s for 32 min, run 47's options, --seed 54.
# Run 50 (not shipped, nor its even average with v43s: ship-rule-v44.md; kept as
# model/candidates/hitscribe-causal-v50.onnx): v43s for 80 min, run 43's command with --seed 55 and
# --first-hit-weights 2 2 1 in place of --first-hit-weight 1.
# Probe 51 (exploratory, probe-51-quiet-hits.md): v43s for 35 min, run 43's command with --seed 56 --quiet-hit-weight 2.
# x3 (not shipped: ship-rule-v45.md): average --checkpoints of v43s, candidates v50 and v45, no training.
# Probe 52 (exploratory, probe-52-audible-ghosts.md): v43s for 25 min, run 43's command with --seed 57
# --quiet-hit-weight 2 --quiet-hit-min-db -15.
# Run 53 (passed ship-rule-v46.md, but q5 had the higher mean of four; kept as
# model/candidates/hitscribe-causal-v53.onnx): v43s for 85 min, run 43's command with --seed 58,
# --first-hit-weights 2 2 2 in place of --first-hit-weight 1 and --ride-p 0.5. 53s and x4 (its
# mixtures with v43s, and with v43s, v50 and v45) met every condition but the gain.
# q6 and q7 (not shipped: ship-rule-v47.md): q5's five exports plus run 53's, and plus run 54 (run 53's
# export for 40 min, run 53's command with --seed 59; not kept).
# q5t (not shipped: ship-rule-v48.md): q5's checkpoint exported with --thresholds 0.6 0.5 0.6.
# Run 55 (stopped at 55 min, not scored: ship-rule-v48.md): q5's export, run 53's command with
# --seed 60 --distractor-weight 2.0, on the loss with the fault fixed after it.
# Run 56 (not shipped, nor its average with q5: ship-rule-v49.md; kept as
# model/candidates/hitscribe-causal-v56.onnx; built below as the first step to p60s): q5's export
# for 70 min, run 55's command with --seed 61, on the fixed loss. Probe 57 (exploratory, not kept): run 56's export for 24 min, the same with
# --seed 62 --first-hit-weights 2 4 4.
# Runs 58 and 59 (not shipped, nor their averages: ship-rule-v50.md; kept as
# model/candidates/hitscribe-causal-v58.onnx and -v59.onnx), 70 min each, side by side: run 56's
# export with run 56's command, --seed 63 --first-hit-weights 2 3 3; and q5's export with run 56's
# command, --seed 64 --distractor-weight 1.0. Probe 60 (part of p60s, built below): run 58's export for 40 min,
# run 56's command with --seed 65 --first-hit-weights 2 3 5.
# Runs 15, 16a and 18a (v18a, shipped until v26; model/results/ship-rule-v18.md), each from the
# previous one's export (run 15 from v12, exported above):
recipe=(--batch 12 --seconds 2.5 --lr 3e-4 --unsupervised-weight 0 --component-weight 1.0
  --velocity-corr-weight 0.2 --threads 1 --workers 1 --lookahead 2 --mix-kits-p 0.5
  --freq-mask-p 0.5 --freq-mask-bands 8 --dropout 0.1)
$train --cache model/cache train --run model/runs/v15 --init-onnx assets/models/hitscribe-causal.onnx \
  --max-minutes 35 --seed 16 "${recipe[@]}"
$train export --checkpoint model/runs/v15/checkpoint.pt --name hitscribe-causal-v15 --out model/runs/v15/v15.onnx
$train --cache model/cache train --run model/runs/v16a --init-onnx model/runs/v15/v15.onnx \
  --max-minutes 85 --seed 17 "${recipe[@]}"
$train export --checkpoint model/runs/v16a/checkpoint.pt --name hitscribe-causal-v16a --out model/runs/v16a/v16a.onnx
$train --cache model/cache train --run model/runs/v18a --init-onnx model/runs/v16a/v16a.onnx \
  --conv2d-channels 24 --max-minutes 85 --seed 19 "${recipe[@]}"
$train export --checkpoint model/runs/v18a/checkpoint.pt --name hitscribe-causal-v18a --thresholds 0.5 0.5 0.5 \
  --out model/runs/v18a/v18a.onnx
# Run 21a (a candidate, model/candidates/hitscribe-causal-v21a.onnx; ship-rule-v21.md) and run 26
# (v26, the shipped model; ship-rule-v26.md): 26 learns the mean outputs of 18a and 21a.
$train --cache model/cache train --run model/runs/v21a --init-onnx model/runs/v18a/v18a.onnx \
  --conv2d-channels 24 --max-minutes 70 --seed 25 --procedural-p 0.25 "${recipe[@]}"
$train export --checkpoint model/runs/v21a/checkpoint.pt --name hitscribe-causal-v21a --out model/runs/v21a/v21a.onnx
$train --cache model/cache train --run model/runs/v26 --init-onnx model/runs/v18a/v18a.onnx \
  --conv2d-channels 24 --max-minutes 90 --seed 26 "${recipe[@]}" --lr 2e-4 \
  --teacher-onnx model/runs/v18a/v18a.onnx model/runs/v21a/v21a.onnx --distill-weight 1.0
$train export --checkpoint model/runs/v26/checkpoint.pt --name hitscribe-causal-v26 --thresholds 0.5 0.5 0.5 \
  --out model/runs/v26/v26.onnx
# Runs 32, 34, probe 36, run 37 and run 43 (ship-rule-v32.md, -v34.md, probe-36-start-anywhere.md,
# -v36.md, -v40.md), each from the previous one's export, with the 61 training kits; then v43s
# (shipped since 2026-12-07, ship-rule-v40.md): the weight average of v26 and run 43. (v37s, the
# average of v26 and run 37, shipped before it: `$train average --checkpoints model/runs/v26/v26.onnx
# model/runs/v37/checkpoint.pt`.)
starts=(--batch 12 --seconds 2.5 --lr 2e-4 --supervised-weight 1.0 --component-weight 1.0
  --velocity-corr-weight 0.2 --unsupervised-weight 0 --threads 1 --workers 1 --mix-kits-p 0.5
  --procedural-p 0.25 --stop-p 0.2 --cut-p 0.3 --freq-mask-p 0.5 --dropout 0.1)
$train --cache model/cache train --run model/runs/v32 --init-onnx model/runs/v26/v26.onnx \
  --max-minutes 95 --seed 36 --start-p 0.3 "${starts[@]}"
$train export --checkpoint model/runs/v32/checkpoint.pt --name hitscribe-causal-v32 --out model/runs/v32/v32.onnx
# Runs 34 to 50 (and probe 38) trained with a fault in the distractor weight that was fixed on
# 2026-12-07 (ship-rule-v48.md: the frame after a hit was punished beside a distractor onset);
# to retrace them exactly, run this script at commit ce3ee9f or earlier.
$train --cache model/cache train --run model/runs/v34 --init-onnx model/runs/v32/v32.onnx \
  --max-minutes 85 --seed 38 --start-p 0.3 --distractor-weight 1.0 --ride-p 0.4 "${starts[@]}"
$train export --checkpoint model/runs/v34/checkpoint.pt --name hitscribe-causal-v34 --out model/runs/v34/v34.onnx
$train --cache model/cache train --run model/runs/p36 --init-onnx model/runs/v34/v34.onnx \
  --max-minutes 25 --seed 41 --start-p 0.5 --start-anywhere-p 0.5 --distractor-weight 1.0 --ride-p 0.4 "${starts[@]}"
$train export --checkpoint model/runs/p36/checkpoint.pt --name hitscribe-causal-p36 --out model/runs/p36/p36.onnx
# Run 37's recipe, which every later run shares.
takes=(--start-p 0.5 --start-anywhere-p 0.8 --distractor-weight 1.0 --ride-p 0.4 "${starts[@]}")
$train --cache model/cache train --run model/runs/v37 --init-onnx model/runs/p36/p36.onnx \
  --max-minutes 85 --seed 42 "${takes[@]}"
$train export --checkpoint model/runs/v37/checkpoint.pt --name hitscribe-causal-v37 --out model/runs/v37/v37.onnx
$train --cache model/cache train --run model/runs/v43 --init-onnx model/runs/v37/v37.onnx \
  --max-minutes 80 --seed 48 --first-hit-weight 1 --first-hit-quiet 0.6 "${takes[@]}"
$train --cache model/cache train --run model/runs/v38 --init-onnx model/runs/v37/v37.onnx \
  --max-minutes 35 --seed 43 --first-hit-weight 4 "${takes[@]}"
mkdir -p model/runs/v43s
$train average --checkpoints model/runs/v26/v26.onnx model/runs/v43/checkpoint.pt --out model/runs/v43s/checkpoint.pt
$train export --checkpoint model/runs/v43s/checkpoint.pt --name hitscribe-causal-v43s --out model/runs/v43s/v43s.onnx
# Runs 45 and 50 (ship-rule-v41.md, -v44.md), each from v43s (shipped 2026-12-07 until q5), then q5
# (shipped since 2026-12-07, ship-rule-v46.md): the uniform weight average of v26, run 43, run 45,
# run 50 and probe 38, no further training.
$train --cache model/cache train --run model/runs/v45 --init-onnx model/runs/v43s/v43s.onnx \
  --max-minutes 95 --seed 50 --first-hit-weight 1 --first-hit-quiet 0.6 "${takes[@]}"
$train --cache model/cache train --run model/runs/v50 --init-onnx model/runs/v43s/v43s.onnx \
  --max-minutes 80 --seed 55 --first-hit-weights 2 2 1 --first-hit-quiet 0.6 "${takes[@]}"
mkdir -p model/runs/q5
$train average --checkpoints model/runs/v26/v26.onnx model/runs/v43/checkpoint.pt model/runs/v45/checkpoint.pt \
  model/runs/v50/checkpoint.pt model/runs/v38/checkpoint.pt --out model/runs/q5/checkpoint.pt
$train export --checkpoint model/runs/q5/checkpoint.pt --name hitscribe-causal-q5 --thresholds 0.5 0.5 0.5 \
  --out model/runs/q5/q5.onnx
# Runs 56 and 58 and probe 60 (ship-rule-v49.md, -v50.md), each from the previous export, on the
# loss with the spill-frame fault fixed; then p60s (shipped since 2026-12-07, ship-rule-v51.md):
# the uniform weight average of q5 and probe 60, no further training.
fixed=(--start-p 0.5 --start-anywhere-p 0.8 --distractor-weight 2.0 --ride-p 0.5 --first-hit-quiet 0.6
  "${starts[@]}")
$train --cache model/cache train --run model/runs/v56 --init-onnx model/runs/q5/q5.onnx \
  --max-minutes 70 --seed 61 --first-hit-weights 2 2 2 "${fixed[@]}"
$train export --checkpoint model/runs/v56/checkpoint.pt --name hitscribe-causal-v56 --out model/runs/v56/v56.onnx
$train --cache model/cache train --run model/runs/v58 --init-onnx model/runs/v56/v56.onnx \
  --max-minutes 70 --seed 63 --first-hit-weights 2 3 3 "${fixed[@]}"
$train export --checkpoint model/runs/v58/checkpoint.pt --name hitscribe-causal-v58 --out model/runs/v58/v58.onnx
$train --cache model/cache train --run model/runs/p60 --init-onnx model/runs/v58/v58.onnx \
  --max-minutes 40 --seed 65 --first-hit-weights 2 3 5 "${fixed[@]}"
mkdir -p model/runs/p60s
$train average --checkpoints model/runs/q5/q5.onnx model/runs/p60/checkpoint.pt --out model/runs/p60s/checkpoint.pt
$train export --checkpoint model/runs/p60s/checkpoint.pt --name hitscribe-causal-p60s --thresholds 0.5 0.5 0.5 \
  --data-summary "$(cat model/DATA_SUMMARY.txt)" --out assets/models/hitscribe-causal.onnx
# Runs 61 and 62 (ship-rule-v52.md; not shipped, p60s stays): probe 60's export for 80 min each,
# side by side, probe 60's command with --seed 66, and with --seed 67 --lr 1e-4. Probe 63
# (exploratory, probe-63-p60s-low-lr.md): p60s's export for 40 min, the same with --seed 68 --lr 1e-4.
# Probe 64 (exploratory, probe-64-procedural-half.md): probe 63 with --procedural-p 0.5 --seed 69, 28 min.
# Runs 65 and 66 (ship-rule-v54.md; not shipped, p60s stays): p60s's export plus an attack branch,
# 75 min each side by side: `train --init-onnx assets/models/hitscribe-causal.onnx --attack-bands 16
# --max-minutes 75 --first-hit-weights 2 3 5 "${fixed[@]}"` with --seed 70, and with --seed 71
# --quiet-hit-weight 2 --quiet-hit-min-db -15. Runs 67 and 68 (ship-rule-v55.md): the same branch
# learning alone on p60s's frozen network, 40 min each: `--attack-bands 16 --train-only attack
# --component-weight 0` with --lr 1e-3 --seed 72, and with --lr 3e-4 --seed 73.
# Probe 69 (exploratory, probe-69-attack-first-hits.md): run 68's export, the same branch-only
# recipe for 20 min with --first-hit-weights 3 5 5 --lr 3e-4 --seed 74.
