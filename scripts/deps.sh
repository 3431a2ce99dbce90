#!/usr/bin/env bash
# Install the Debian packages glint needs to build and test, when missing.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
packages=(pkg-config libclang-dev libatasmart-dev libatasmart-bin "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
