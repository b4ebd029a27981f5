#!/usr/bin/env bash
# deps.sh: install the Debian 12 packages mdflow needs, when they are missing.
#
#   tools/deps.sh build   # compilers and -dev libraries
#   tools/deps.sh run     # build + what the demo uses (sqlite3 CLI, gnuplot)
#   tools/deps.sh test    # run + test servers and checkers (PostgreSQL, promtool,
#                         #   clang/libFuzzer, valgrind, docker-compose, yamllint)
#   tools/deps.sh --list KIND   # print the package names only
#
# Does nothing when every package is installed already; otherwise needs root
# (or sudo) and runs apt-get update + install.  Package services (prometheus,
# postgresql) are kept from starting at install: tests start their own servers
# on loopback.
set -euo pipefail

BUILD="meson ninja-build pkg-config gcc libc6-dev libzmq3-dev libczmq-dev libmsgpack-dev check
       libsqlite3-dev libpq-dev libmicrohttpd-dev libcurl4-openssl-dev"
RUN="sqlite3 gnuplot-nox curl procps"
TEST="postgresql prometheus clang clang-format libclang-rt-14-dev valgrind docker-compose yamllint python3
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
missing=()
for p in $(pkgs_for "$kind"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: need root to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
# Keep packaged daemons from starting during the install (no policy of our own
# is left behind if one existed before).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    made_policy=1
fi
cleanup () { [ "$made_policy" = 1 ] && $SUDO rm -f "$policy"; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
