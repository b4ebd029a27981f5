#!/usr/bin/env bash
# test_deps.sh: tools/deps.sh against a fake apt (meson suite 'tools').
#
# tools/run.sh and tools/test.sh start with tools/deps.sh, so its exit status
# decides whether a user's first run goes on.  Here it runs with fake
# dpkg-query, apt-get, id and sudo first on PATH (nothing is installed) and its
# policy-rc.d redirected into a scratch directory (MDF_POLICY_RC_D), so the
# test never writes /usr/sbin.  Cases:
#   1. policy-rc.d exists, one package missing, the install succeeds: exit 0,
#      the package was installed, the existing policy is left as it was;
#   2. no policy-rc.d: one is made for the install (it denies starting
#      daemons: exit 101) and removed after, exit 0;
#   3. nothing missing: exit 0 and apt-get never runs;
#   4. the install fails: non-zero exit that says why, the policy made for
#      the install is removed;
#   5. not root, sudo used for every privileged step: exit 0;
#   6. not root and no sudo: exit 1 naming the packages.
# Env: MDF_SOURCE_ROOT (the repository).
set -u
SRC=${MDF_SOURCE_ROOT:?MDF_SOURCE_ROOT not set}
DEPS="$SRC/tools/deps.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }

# Fakes.  dpkg-query reports every package installed except those in
# $FAKE_MISSING; apt-get logs each call (and what the policy said during an
# install) to $FAKE_LOG and fails the install when FAKE_APT_FAIL=1; id -u
# prints $FAKE_UID; sudo logs and runs its command.
BIN="$TMP/bin"
mkdir -p "$BIN"
cat >"$BIN/dpkg-query" <<'FAKE'
#!/bin/sh
for p; do :; done
for m in $FAKE_MISSING; do
    [ "$m" = "$p" ] && { echo "dpkg-query: no packages found matching $p" >&2; exit 1; }
done
printf 'install ok installed'
FAKE
cat >"$BIN/apt-get" <<'FAKE'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_LOG"
case " $* " in
    *" install "*)
        if [ -x "$MDF_POLICY_RC_D" ]; then
            "$MDF_POLICY_RC_D" x start >/dev/null 2>&1
            echo "policy during install: exit $?" >>"$FAKE_LOG"
        else
            echo "policy during install: none" >>"$FAKE_LOG"
        fi
        [ "${FAKE_APT_FAIL:-0}" = 1 ] && { echo "E: Unable to locate package" >&2; exit 100; }
        ;;
esac
exit 0
FAKE
cat >"$BIN/id" <<'FAKE'
#!/bin/sh
[ "$1" = "-u" ] && { echo "$FAKE_UID"; exit 0; }
exec /usr/bin/id "$@"
FAKE
cat >"$BIN/sudo" <<'FAKE'
#!/bin/sh
echo "sudo $1" >>"$FAKE_LOG"
exec "$@"
FAKE
chmod +x "$BIN"/*

# run_deps CASE KIND: tools/deps.sh KIND with the fakes; sets rc, out, log.
run_deps () {
    local dir="$TMP/$1"
    mkdir -p "$dir"
    : >"$dir/apt.log"
    out=$(env PATH="$BIN:$PATH" FAKE_LOG="$dir/apt.log" MDF_POLICY_RC_D="$POLICY" \
          FAKE_MISSING="$MISSING" FAKE_UID="${FAKE_UID:-0}" FAKE_APT_FAIL="${FAKE_APT_FAIL:-0}" \
          bash "$DEPS" "$2" 2>&1)
    rc=$?
    log=$(cat "$dir/apt.log")
}
expect_rc () { # expect_rc CASE WANT
    if [ "$rc" != "$2" ]; then
        fail "$1: exit $rc, want $2; output:"
        printf '%s\n' "$out" | sed 's/^/     /'
    fi
}
has () { grep -qF -- "$2" <<<"$1"; }

# 1. The policy exists already (as on Debian's container images).
POLICY="$TMP/1-policy-rc.d"
printf '#!/bin/sh\n# the system policy\nexit 101\n' >"$POLICY"
chmod +x "$POLICY"
before=$(cat "$POLICY")
MISSING="gnuplot-nox"
run_deps 1 run
expect_rc "1 existing policy" 0
has "$log" "apt-get install -y -qq --no-install-recommends gnuplot-nox" ||
    fail "1 existing policy: gnuplot-nox was not installed (apt-get calls: $log)"
[ -f "$POLICY" ] && [ "$(cat "$POLICY")" = "$before" ] ||
    fail "1 existing policy: the policy that was there before was changed or removed"

# 2. No policy: one is made for the install and removed afterwards.
POLICY="$TMP/2-policy-rc.d"
run_deps 2 run
expect_rc "2 no policy" 0
has "$log" "policy during install: exit 101" ||
    fail "2 no policy: daemons were not denied during the install ($log)"
[ ! -e "$POLICY" ] || fail "2 no policy: the policy made for the install was left behind"

# 3. Nothing missing.
MISSING=""
run_deps 3 test
expect_rc "3 nothing missing" 0
[ -z "$log" ] || fail "3 nothing missing: apt-get ran: $log"

# 4. The install fails.
MISSING="gnuplot-nox"
FAKE_APT_FAIL=1 run_deps 4 run
if [ "$rc" = 0 ]; then
    fail "4 failed install: exit 0"
fi
has "$out" "deps.sh:" && has "$out" "gnuplot-nox" ||
    fail "4 failed install: the output does not say what failed: $out"
[ ! -e "$POLICY" ] || fail "4 failed install: the policy made for the install was left behind"

# 5. Not root: every privileged step through sudo.
FAKE_UID=1000 run_deps 5 build
expect_rc "5 sudo" 0
MISSING="gnuplot-nox"
FAKE_UID=1000 run_deps 5b run
expect_rc "5 sudo" 0
for step in "sudo tee" "sudo chmod" "sudo apt-get" "sudo rm"; do
    has "$log" "$step" || fail "5 sudo: no '$step' (calls: $log)"
done
[ ! -e "$POLICY" ] || fail "5 sudo: the policy made for the install was left behind"

# 6. Not root and no sudo: PATH holds only the fakes and the few commands
# the script needs, none of them sudo.
rm "$BIN/sudo"
SYS="$TMP/sys"
mkdir -p "$SYS"
for c in bash env grep tee chmod rm cat mkdir; do
    ln -s "$(command -v "$c")" "$SYS/$c"
done
PATH="$SYS" FAKE_UID=1000 run_deps 6 run
expect_rc "6 no sudo" 1
has "$out" "gnuplot-nox" || fail "6 no sudo: the message does not name the missing package: $out"
[ -z "$log" ] || fail "6 no sudo: apt-get ran: $log"

if [ "$failures" = 0 ]; then
    echo "ok: tools/deps.sh, 6 cases"
    exit 0
fi
echo "$failures failure(s)"
exit 1
