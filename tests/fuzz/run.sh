#!/bin/sh
# run.sh [SECONDS]: build the libFuzzer targets if needed and run each one for
# SECONDS (default 60) from a scratch copy of its seed corpus (tests/fuzz/corpus/
# <target>/ stays untouched).  Prints execs and crashes per target; exits 1 if
# any target crashed (artifacts are kept in the work directory it names).
#
# Env: MDF_FUZZ_BUILD (default <repo>/build-fuzz), CC for the first setup
# (default clang).  Targets run one after the other.
set -eu

secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${MDF_FUZZ_BUILD:-$src/build-fuzz}
targets="feedback batch ack tick"

if [ ! -f "$build/build.ninja" ]; then
    CC=${CC:-clang} meson setup "$build" "$src" -Dfuzz=true -Dtests=false \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" $(for t in $targets; do printf 'tests/fuzz/fuzz_%s ' "$t"; done) >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/mdf-fuzz.XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for t in $targets; do
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp "$src/tests/fuzz/corpus/$t/"* "$work/$t/corpus/"
    set +e
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
        -rss_limit_mb=2048 -artifact_prefix="$work/$t/artifacts/" \
        "$work/$t/corpus" >"$work/$t/log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log" | tail -n 1)
    crashes=$(find "$work/$t/artifacts" -type f | wc -l)
    if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without an artifact (e.g. killed): count it
    fi
    echo "fuzz_$t: execs=${execs:-?} crashes=$crashes seconds=$secs"
    if [ "$crashes" -ne 0 ]; then
        failed=1
        echo "  log: $work/$t/log" >&2
        tail -n 30 "$work/$t/log" >&2
    fi
done
if [ "$failed" -eq 0 ]; then
    rm -rf "$work"
else
    echo "artifacts kept in $work" >&2
fi
exit "$failed"
