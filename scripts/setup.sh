#!/usr/bin/env bash
# Installs the Debian packages the build and tests need. Idempotent and quiet when
# everything is already present; safe to call from every make target that needs it.
set -euo pipefail
PKGS=(g++ make catch2 libopenblas-dev libopenmpi-dev openmpi-bin python3-torch python3-numpy clang libclang-rt-dev
      python3-matplotlib python3-regex libboost-context-dev nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  # node/npm often come from outside Debian (nodesource); accept any working binary
  case "$p" in nodejs|npm) command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
