#!/usr/bin/env bash
# bench/memory.sh: where md-store's and md-pipeline's memory goes, idle and
# after a spell of overload (the setup of bench/run.sh's RSS row).
#
#   bench/memory.sh [--build DIR] [--seconds S] [--sink-rows C] [--env 'K=V ...']
#
#  idle:     md-store at its defaults (SQLite sink), md-pipeline with one
#            synthetic provider at refill_rate 0, after one /metrics scrape;
#  overload: the SQLite sink throttled to C rows/s (default 10,000), the
#            provider asking 10 x C, window 32 x 500, for S seconds (default 60).
#
# For each service and phase bench/smaps.py prints Rss, Pss and private
# (clean, dirty) memory per group of mappings: the binary, each shared library
# with notable dirty pages, [heap], the malloc arenas of other threads, each
# thread's stack, other anonymous memory.  --env passes variables to both
# services, to measure a change before making it (the services set one
# malloc arena; --env MALLOC_ARENA_MAX=16 gives glibc's default on 2 cores).  Everything on 127.0.0.1, on free ports, in a temporary
# directory; the services are stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TAG=memory
# shellcheck source=bench/lib.sh
. bench/lib.sh
unset MDP_HTTP_CONTROL_TOKEN MDP_HTTP_CONTROL_TOKEN_FILE

build=build
seconds=60
C=10000
extra_env=""
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        --env) extra_env="$2"; shift 2 ;;
        -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/memory.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" store/md-store pipeline/md-pipeline >/dev/null
sync # a binary just linked has dirty page-cache pages, which smaps counts as private dirty

tmp=$(mktemp -d /tmp/mdflow-memory-XXXXXX)
pids=()
cleanup () {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
BENCH_LOGDIR="$tmp"


spawn () { # spawn NAME BINARY: sets PID
    # shellcheck disable=SC2086
    env $extra_env "$2" --config "$tmp/$1.toml" >"$tmp/$1.log" 2>&1 &
    PID=$!
    pids+=("$PID")
}

store_up () { # store_up NAME MAX_ROWS: sets S_PID S_HTTP S_INGEST S_FB
    free_port S_INGEST; free_port S_FB; free_port S_HTTP
    cat >"$tmp/$1.toml" <<EOF
[ingest]
endpoint = "tcp://127.0.0.1:$S_INGEST"
[feedback]
endpoint = "tcp://127.0.0.1:$S_FB"
[sink]
path = "$tmp/$1.db"
max_rows_per_sec = $2
[http]
listen = "127.0.0.1:$S_HTTP"
EOF
    spawn "$1" "$build/store/md-store"
    S_PID=$PID
    wait_http "$S_HTTP" "$S_PID" "$1"
}

pipe_up () { # pipe_up NAME REFILL: sets P_PID P_HTTP
    free_port P_HTTP
    cat >"$tmp/$1.toml" <<EOF
[store]
ingest = ["tcp://127.0.0.1:$S_INGEST"]
feedback = ["tcp://127.0.0.1:$S_FB"]
batch_max = 500
max_inflight = 32
[http]
listen = "127.0.0.1:$P_HTTP"
[[providers]]
name = "synthetic"
type = "synthetic"
capacity = 1000
refill_rate = $2
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOF
    spawn "$1" "$build/pipeline/md-pipeline"
    P_PID=$PID
    wait_http "$P_HTTP" "$P_PID" "$1"
}


echo "bench/memory.sh: build $build, ${extra_env:-no extra environment}"
store_up idle-store 0
pipe_up idle-pipeline 0
sleep 1
curl -fs -o /dev/null "http://127.0.0.1:$S_HTTP/metrics"
curl -fs -o /dev/null "http://127.0.0.1:$P_HTTP/metrics"
python3 bench/smaps.py "$S_PID" "md-store idle"
python3 bench/smaps.py "$P_PID" "md-pipeline idle"
stop "$P_PID" "$S_PID"

store_up load-store "$C"
pipe_up load-pipeline $((10 * C))
sleep "$seconds"
written=$(curl -fs "http://127.0.0.1:$S_HTTP/metrics" | awk '$1 == "mds_bars_written_total" { print $2 }')
python3 bench/smaps.py "$S_PID" "md-store after $seconds s of 10x overload ($written bars written)"
python3 bench/smaps.py "$P_PID" "md-pipeline after $seconds s of 10x overload"
grep -h VmHWM "/proc/$S_PID/status" "/proc/$P_PID/status" | tr -s ' \t' ' ' |
    paste -sd ' ' | sed 's/^/peak (store, pipeline): /'
stop "$P_PID" "$S_PID"
