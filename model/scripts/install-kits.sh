#!/usr/bin/env bash
# Install the Debian drum sample packages used by `prepare-kits` (idempotent).
set -euo pipefail
PKGS=(hydrogen-drumkits hydrogen-data avldrums.lv2 fluid-soundfont-gm fluidsynth freepats
  musescore-general-soundfont timgm6mb-soundfont lmms-common sonic-pi-samples
  exadrums csound-soundfont stk)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-kits: all packages present (${PKGS[*]})"
  exit 0
fi
echo "install-kits: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
