#!/usr/bin/env bash
# Set everything up and run the main job on a fresh machine:
#   ONNX Runtime (PyPI wheel via pip) -> release CLI -> transcribe assets/loops/*.wav into out/
#   -> CLAP/VST3 bundles (when plugin/ exists).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
cargo xtask fetch-ort
cargo build --release -j 2 -p hitscribe-cli
mkdir -p out
MODEL=assets/models/hitscribe-causal.onnx
if [[ ! -f "$MODEL" && -z "${HITSCRIBE_MODEL:-}" ]]; then
  echo "model $MODEL is missing (the trainer ships it); set HITSCRIBE_MODEL to use another" >&2
  exit 1
fi
./target/release/hitscribe info
./target/release/hitscribe transcribe assets/loops/*.wav -o out --tsv out
ls -l out
if [[ -x scripts/bundle.sh ]]; then
  scripts/bundle.sh            # target/bundled/hitscribe.clap + hitscribe.vst3 (+ model, runtime)
elif [[ -f plugin/Cargo.toml ]]; then
  cargo xtask bundle hitscribe-plugin --release
fi
