#!/usr/bin/env bash
# Runs every test: Rust (engine, CLI, plugin, integration tests) and Python (model/).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo xtask fetch-ort
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
if [[ -f tests/Cargo.toml ]] && grep -q '"tests"' Cargo.toml; then
  cargo test --workspace --exclude hitscribe-tests
  # Builds the (debug, assert_process_allocs) bundle, then runs the clack-host/DAW tests.
  scripts/test-plugin.sh
else
  cargo test --workspace
fi
if [[ -x model/scripts/test.sh ]]; then
  model/scripts/test.sh
fi
echo "all tests passed"
