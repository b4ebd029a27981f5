#!/usr/bin/env bash
# deps.sh: install the Debian 12 packages mdflow needs, when they are missing.
#
#   tools/deps.sh build   # compilers and -dev libraries
#   tools/deps.sh run     # build + what the demo uses (sqlite3 CLI, gnuplot)
#   tools/deps.sh test    # run + test servers and checkers (PostgreSQL, promtool,
#                         #   clang/libFuzzer, valgrind, docker-compose, podman-compose,
#                         #   yamllint)
#   tools/deps.sh --list KIND   # print the package names only
#
# Does nothing when every package is installed already; otherwise needs root
# (or sudo) and runs apt-get update + install.  Package services (prometheus,
# postgresql) are kept from starting at install: tests start their own servers
# on loopback.  Exits 0 when everything is installed; any other exit says why
# on stderr.
set -euo pipefail
trap 'rc=$?; echo "deps.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $rc)" >&2' ERR

BUILD="meson ninja-build pkg-config gcc libc6-dev libzmq3-dev libczmq-dev libmsgpack-dev libjansson-dev check
       libsqlite3-dev libpq-dev libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev"
RUN="sqlite3 gnuplot-nox curl procps"
TEST="postgresql prometheus clang clang-format libclang-rt-14-dev valgrind docker-compose podman-compose yamllint python3
      python3-yaml iproute2 nftables dnsmasq-base"

pkgs_for () {
    case "$1" in
        build) echo $BUILD ;;
        run) echo $BUILD $RUN ;;
        test | all) echo $BUILD $RUN $TEST ;;
        *) echo "deps.sh: unknown kind '$1' (build, run, test)" >&2; exit 2 ;;
    esac
}

if [ "${1:-}" = "--list" ]; then
    pkgs_for "${2:-all}"
    exit 0
fi

kind="${1:-test}"
pkgs=$(pkgs_for "$kind")
missing=()
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "deps.sh: not root and no sudo: cannot install ${missing[*]}" >&2
        echo "deps.sh: run 'tools/deps.sh $kind' as root, or install them yourself" >&2
        exit 1
    fi
    SUDO="sudo"
fi
# Keep packaged daemons from starting during the install.  A policy that was
# there before is left alone; one made here is removed afterwards.
# MDF_POLICY_RC_D exists for tests/tools/test_deps.sh only (a path in a
# scratch directory instead of the system's).
policy=${MDF_POLICY_RC_D:-/usr/sbin/policy-rc.d}
made_policy=0
# The trap must succeed: under `set -e` a failing command in it would become
# the script's exit status (a policy that already existed used to make the
# first run on a fresh machine exit 1, silently).
cleanup () {
    if [ "$made_policy" = 1 ] && ! $SUDO rm -f "$policy"; then
        echo "deps.sh: could not remove $policy; remove it by hand" >&2
    fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    made_policy=1
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq; then
    echo "deps.sh: apt-get update failed: is a Debian mirror reachable?" >&2
    exit 1
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    echo "deps.sh: apt-get install failed for: ${missing[*]}" >&2
    exit 1
fi
echo "deps.sh: installed ${missing[*]}" >&2
