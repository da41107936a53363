#!/usr/bin/env bash
# Runs the trainer's checks: ruff (lint + format) and pytest. Creates the venv when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[ -x "$here/.venv/bin/pytest" ] || "$here/scripts/setup-venv.sh"
cd "$here"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q
