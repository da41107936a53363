#!/usr/bin/env bash
# Build the Hitscribe CLAP/VST3 bundle for the integration tests and run them.
#
# The bundle is a DEBUG build with nice-plug's `assert_process_allocs`: any allocation on the
# audio thread aborts the test process, so every passing clack-host test also proves the audio
# thread does not allocate. Extra cargo arguments for the bundle build go in
# HITSCRIBE_BUNDLE_ARGS (e.g. "--no-default-features" for a build without the editor).
#
#   scripts/test-plugin.sh            # build + all integration tests
#   scripts/test-plugin.sh offline    # build + tests whose name contains "offline"
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086
cargo xtask bundle hitscribe-plugin -j 2 --features assert_process_allocs ${HITSCRIBE_BUNDLE_ARGS:-}
test -f target/bundled/hitscribe.clap
cargo test -j 2 -p hitscribe-tests -- --test-threads=1 "$@"
