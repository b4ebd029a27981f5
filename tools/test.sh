#!/usr/bin/env bash
# test.sh: the README's test command.  On a fresh Debian 12 machine it installs
# what is missing, builds mdflow in build/, and runs every test suite:
#   unit         Check suites, one per module
#   integration  the real binaries spawned on free loopback ports
#   deploy       compose / Kubernetes files validated
#   slow         end-to-end scenarios (overload, restarts, network namespaces)
# Extra arguments go to `meson test` (e.g. `tools/test.sh --suite unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test
if [ -d build ]; then
    meson setup --reconfigure build >/dev/null
else
    meson setup build >/dev/null
fi
ninja -C build
meson test -C build --print-errorlogs --num-processes 2 "$@"
