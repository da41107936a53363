#!/usr/bin/env bash
# Creates the git-ignored trainer venv at model/.venv and installs the pinned requirements.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --upgrade pip
"$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt"
"$here/.venv/bin/pip" install --quiet -e "$here" --no-deps
echo "trainer venv ready: $here/.venv"
