#!/usr/bin/env bash
# The whole test suite: installs what a fresh Debian machine lacks, starts a
# real Podman engine for the containers tests when possible, runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
engine_script=../shared/tools/podman-engine.sh
sock=/tmp/glint-test-podman.sock
if [ -x "$engine_script" ] && [ "$(id -u)" -eq 0 ] && [ "${GLINT_SKIP_PODMAN:-0}" != 1 ]; then
  if "$engine_script" up "$sock" >/tmp/glint-podman.log 2>&1; then
    export GLINT_TEST_PODMAN_SOCK="$sock"
    trap '"$engine_script" down "$sock" >/dev/null 2>&1 || true' EXIT
  else
    echo "podman engine unavailable (see /tmp/glint-podman.log): containers engine tests are skipped" >&2
  fi
fi
cargo test --locked -- --test-threads=2
