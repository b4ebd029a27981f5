#!/usr/bin/env bash
# bench/controllers/run.sh: issue 6, the pipeline's policies compared on the
# same overloads, real md-store (SQLite sink throttled to C rows/s, report_ms
# 100) and md-pipeline (synthetic provider at 10x C) on loopback.
#
#   bench/controllers/run.sh [--build DIR] [--seconds S] [--sink-rows C]
#                            [--policies "step linear aimd target"]
#                            [--scenarios "a c d"]
#
# Scenarios: (a) steady 10x overload; (b) sink capacity C x (1 + 0.5 sin(2 pi
# t / 10 s)), set once a second by rewriting sink.max_rows_per_sec and sending
# SIGHUP (efficiency against the mean C: use --seconds warm-up + a multiple of
# 10); (c) bursty provider, on/off every 2 s (POST /control/pause and
# /control/resume); (d) sink outage of 3 s, made by holding an exclusive
# SQLite lock on the store's database.
# Per run, from bench/bench_probe (after a warm-up) and a 100 ms depth sampler:
# efficiency (committed / C), ingest->commit p50/p99 (the store's
# mds_ingest_commit_seconds), mean/max queue depth, level changes per minute
# (the store's "level changed" log lines), retry acks.  Table on stdout and in
# OUT/results.md (default bench/controllers/out).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build secs=20 C=5000 out=bench/controllers/out
policies="step linear aimd target" scenarios="a b c d"
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --seconds) secs="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        --policies) policies="$2"; shift 2 ;;
        --scenarios) scenarios="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "controllers: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
warm=3
ninja -C "$build" store/md-store pipeline/md-pipeline bench/bench_probe >/dev/null
mkdir -p "$out/logs"
tmp=$(mktemp -d /tmp/mdflow-ctl-XXXXXX)
pids=()
cleanup () {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

used=" "
free_port () {
    local p
    while :; do
        p=$((10000 + RANDOM % 20000))
        [[ "$used" == *" $p "* ]] && continue
        [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
        used+="$p "; printf -v "$1" '%s' "$p"; return
    done
}
wait_http () {
    for _ in $(seq 1 200); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/health" && return 0
        kill -0 "$2" 2>/dev/null || { echo "controllers: $3 exited" >&2; exit 1; }
        sleep 0.05
    done
    echo "controllers: $3 did not answer" >&2; exit 1
}
kv () { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
stop () { for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }

rows=()
for sc in $scenarios; do
    for pol in $policies; do
        name="$sc-$pol"
        free_port SI; free_port SF; free_port SH; free_port PH
        db="$tmp/$name.db"
        cat >"$tmp/$name-store.toml" <<EOT
[store]
id = "$name"
[ingest]
endpoint = "tcp://127.0.0.1:$SI"
[feedback]
endpoint = "tcp://127.0.0.1:$SF"
report_ms = 100
[sink]
type = "sqlite"
path = "$db"
max_rows_per_sec = $C
[http]
listen = "127.0.0.1:$SH"
EOT
        cat >"$tmp/$name-pipe.toml" <<EOT
[pipeline]
id = "$name"
[store]
ingest = ["tcp://127.0.0.1:$SI"]
feedback = ["tcp://127.0.0.1:$SF"]
batch_max = 500
max_inflight = 32
ack_timeout_ms = 10000
[feedback]
policy = "$pol"
interval_ms = 100
[http]
listen = "127.0.0.1:$PH"
[[providers]]
name = "synthetic"
type = "synthetic"
capacity = 1000
refill_rate = $((10 * C))
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOT
        "$build/store/md-store" --config "$tmp/$name-store.toml" >"$out/logs/$name-store.log" 2>&1 &
        spid=$!; pids+=("$spid"); wait_http "$SH" "$spid" store
        "$build/pipeline/md-pipeline" --config "$tmp/$name-pipe.toml" >"$out/logs/$name-pipe.log" 2>&1 &
        ppid=$!; pids+=("$ppid"); wait_http "$PH" "$ppid" pipeline
        # depth sampler, and the scenario's disturbance
        ( while :; do curl -fs "http://127.0.0.1:$SH/metrics" |
              awk '$1 == "coordinator_queue_depth" { print $2 }'; sleep 0.1; done ) >"$tmp/$name.depth" &
        sampler=$!
        dist=""
        case "$sc" in
            c) ( while :; do sleep 2; curl -fs -X POST "http://127.0.0.1:$PH/control/pause" >/dev/null
                     sleep 2; curl -fs -X POST "http://127.0.0.1:$PH/control/resume" >/dev/null; done ) &
               dist=$! ;;
            b) ( t=0; while :; do sleep 1; t=$((t + 1))
                     r=$(awk -v c="$C" -v t="$t" 'BEGIN { printf "%d", c * (1 + 0.5 * sin(2 * 3.14159265 * t / 10)) }')
                     sed -i "s/^max_rows_per_sec = .*/max_rows_per_sec = $r/" "$tmp/$name-store.toml"
                     kill -HUP "$spid" 2>/dev/null || true; done ) &
               dist=$! ;;
            d) ( sleep $((warm + 2)); sqlite3 "$db" "BEGIN EXCLUSIVE;" ".shell sleep 3" "COMMIT;" >/dev/null 2>&1 ) &
               dist=$! ;;
        esac
        line=$("$build/bench/bench_probe" --store-http "$SH" --pipeline-http "$PH" \
            --seconds "$secs" --warmup "$warm" --interval-ms 10 --sink-rows "$C")
        [ -n "$dist" ] && { kill "$dist" 2>/dev/null || true; wait "$dist" 2>/dev/null || true; }
        kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
        changes=$(grep -c '"level changed"\|level changed' "$out/logs/$name-store.log" || true)
        stop "$ppid" "$spid"
        pids=()
        depth=$(awk '{ s += $1; n++; if ($1 > m) m = $1 } END { printf "%.0f / %.0f", n ? s / n : 0, m }' "$tmp/$name.depth")
        per_min=$(awk -v c="$changes" -v s="$secs" 'BEGIN { printf "%.1f", c * 60 / s }')
        echo "$name $line changes=$changes" >>"$out/raw.txt"
        rows+=("| $sc | $pol | $(kv "$line" efficiency) | $(kv "$line" commit_p50_ms) / $(kv "$line" commit_p99_ms) | $depth | $per_min | $(kv "$line" retries) |")
        echo "controllers: $name done" >&2
    done
done
{
    echo "C = $C rows/s, provider 10x, capacity 10000, report_ms 100, $secs s per run (efficiency after ${warm} s)"
    echo
    echo "| scenario | policy | efficiency | ingest->commit p50 / p99 ms | mean / max depth | level changes /min | retry acks |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
