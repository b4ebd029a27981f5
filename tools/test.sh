#!/usr/bin/env bash
# test.sh: the README's test command.  On a fresh Debian 12 machine it installs
# what is missing, builds mdflow in build/, and runs every test suite:
#   unit         Check suites, one per module
#   integration  the real binaries spawned on free loopback ports
#   tools        the scripts in tools/ (deps.sh against a fake apt)
#   deploy       compose / Kubernetes files and the Prometheus alerting rules
#   docs         the README's configuration reference is up to date
#   slow         end-to-end scenarios (overload, restarts, network namespaces)
# Extra arguments go to `meson test` (e.g. `tools/test.sh --suite unit`).
# The TOML reader's conformance test runs the toml-test suite when
# MDF_TOML_TEST_DIR names a checkout of it, and is skipped otherwise.
# Exits 0 when every test passed or was skipped; any other exit says why.
set -euo pipefail
trap 'rc=$?; echo "test.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $rc)" >&2' ERR
cd "$(dirname "$0")/.."
tools/deps.sh test
if [ -d build ]; then
    setup=(meson setup --reconfigure build)
else
    setup=(meson setup build)
fi
if ! log=$("${setup[@]}" 2>&1); then
    printf '%s\n' "$log" | tail -n 30 >&2
    echo "test.sh: '${setup[*]}' failed (above)" >&2
    exit 1
fi
if ! ninja -C build; then
    echo "test.sh: the build failed (above)" >&2
    exit 1
fi
if ! meson test -C build --print-errorlogs --num-processes 2 "$@"; then
    echo "test.sh: tests failed (see above; full log: build/meson-logs/testlog.txt)" >&2
    exit 1
fi
