#!/usr/bin/env bash
# Build the Hitscribe plugin bundles and put the model and ONNX Runtime inside them, without xtask
# extras (only nice-plug-xtask's bundler). See docs/plugin-bundle.md.
#
#   scripts/bundle.sh            # release build -> target/bundled/hitscribe.clap, hitscribe.vst3
#   scripts/bundle.sh --debug    # debug build
#
# Result (copy these to ~/.clap/ and ~/.vst3/):
#   target/bundled/hitscribe.clap                      the CLAP plugin (one file on Linux)
#   target/bundled/hitscribe/                          its resources: model + libonnxruntime
#   target/bundled/hitscribe.vst3/                     the VST3 bundle; resources in Contents/Resources/
set -euo pipefail
cd "$(dirname "$0")/.."
profile=--release
[[ "${1:-}" == "--debug" ]] && profile=""
# shellcheck disable=SC2086
cargo xtask bundle hitscribe-plugin -j 2 $profile
model=assets/models/hitscribe-causal.onnx
ort=$(ls runtime/libonnxruntime.so.1.* 2>/dev/null | head -n1 || true)
out=target/bundled
mkdir -p "$out/hitscribe" "$out/hitscribe.vst3/Contents/Resources"
for f in "$model" "$ort" runtime/libonnxruntime_providers_shared.so runtime/libonnxruntime_providers_cuda.so; do
  if [[ -n "$f" && -f "$f" ]]; then
    cp -f "$f" "$out/hitscribe/"
    cp -f "$f" "$out/hitscribe.vst3/Contents/Resources/"
  else
    echo "note: ${f:-libonnxruntime} not found (model: produced by the trainer; runtime: cargo xtask fetch-ort)" >&2
  fi
done
echo "bundles in $out:"; ls -la "$out" "$out/hitscribe" "$out/hitscribe.vst3/Contents/Resources"
