#!/usr/bin/env bash
# bench/controllers/run.sh: the pipeline's policies compared on the
# same overloads, real md-store (SQLite sink throttled to C rows/s) and
# md-pipeline (synthetic provider at 10x C) on loopback.
#
#   bench/controllers/run.sh [--build DIR] [--seconds S] [--warmup W]
#                            [--sink-rows C] [--report-ms N] [--out DIR]
#                            [--policies "step linear aimd target"]
#                            [--scenarios "a b c d"]
#
# Each run lasts W + S seconds (default 5 + 60); the first W seconds are the
# start-up, reported apart; every measure below is over the last S seconds.
# Scenarios (the provider offers 10 x C whenever it runs):
#  (a) steady overload;
#  (b) sink capacity C x (1 + 0.5 sin(2 pi t / 10 s)), set every 0.5 s by
#      rewriting sink.max_rows_per_sec and sending SIGHUP to the store;
#  (c) bursty provider: on 2 s, off 2 s (POST /control/pause and /resume);
#  (d) sink outage of 3 s, W + 20 s after the start: an exclusive SQLite lock
#      held on the store's database (the store's write waits on it).
# Measures (bench/bench_probe, polling both services' /metrics every 20 ms):
#  - efficiency = committed / integral of min(sink capacity, offered) dt:
#    capacity is the throttle, 0 during (d)'s outage; offered is 10 x C while
#    the provider runs, 0 while (c) holds it paused.  The scenario scripts log
#    every change to a schedule file the probe integrates;
#  - busy = committed / integral of the throttle dt (the sink's busy fraction,
#    "committed / sink capacity": pauses and the outage count as capacity);
#  - ingest->commit p50/p99/p99.9: the store's mds_ingest_commit_seconds,
#    buckets at the end minus buckets at the end of the warm-up;
#  - mean / max queue depth (coordinator_queue_depth samples);
#  - level changes per minute: the store's "level changed" log lines in the
#    window; retry acks: mds_batches_total{status="retry"} over the whole run.
# The pipeline's [feedback] keys can be overridden from the environment
# (MDP_FEEDBACK_KP=2 ...), as with any run of md-pipeline.  Tables on stdout
# and in OUT/results.md; raw probe lines in OUT/raw.txt, per-run logs and
# 20 ms traces (seconds, depth, level, scale) in OUT/logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The runs use their own loopback configs and POST /control/pause without a
# token: a control token exported for another pipeline must not apply here.
unset MDP_HTTP_CONTROL_TOKEN MDP_HTTP_CONTROL_TOKEN_FILE

build=build secs=60 warm=5 C=5000 report_ms=100 out=bench/controllers/out
policies="step linear aimd target" scenarios="a b c d"
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --seconds) secs="$2"; shift 2 ;;
        --warmup) warm="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        --report-ms) report_ms="$2"; shift 2 ;;
        --policies) policies="$2"; shift 2 ;;
        --scenarios) scenarios="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "controllers: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
R=$((10 * C))
ninja -C "$build" store/md-store pipeline/md-pipeline bench/bench_probe >/dev/null
mkdir -p "$out/logs"
: >"$out/raw.txt"
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
now () { date +%s.%N; }

# The scenario's disturbance, in the background; appends "wall throttle
# capacity offered" lines to $sched whenever it changes one of them.
disturb () { # disturb SCENARIO STORE_PID STORE_TOML PIPE_HTTP DB
    local sc="$1" spid="$2" toml="$3" ph="$4" db="$5" t0 k r
    t0=$(now)
    case "$sc" in
        b) for ((k = 1; ; k++)); do
               sleep "$(awk -v t0="$t0" -v k="$k" -v n="$(now)" 'BEGIN { d = t0 + k / 2 - n; printf "%.3f", (d > 0 ? d : 0) }')"
               r=$(awk -v c="$C" -v k="$k" 'BEGIN { printf "%d", c * (1 + 0.5 * sin(2 * 3.14159265 * k / 20)) }')
               sed -i "s/^max_rows_per_sec = .*/max_rows_per_sec = $r/" "$toml"
               kill -HUP "$spid" 2>/dev/null || true
               echo "$(now) $r $r $R" >>"$sched"
           done ;;
        c) for ((k = 1; ; k++)); do
               sleep "$(awk -v t0="$t0" -v k="$k" -v n="$(now)" 'BEGIN { d = t0 + 2 * k - n; printf "%.3f", (d > 0 ? d : 0) }')"
               if ((k % 2)); then
                   curl -fs -X POST "http://127.0.0.1:$ph/control/pause" >/dev/null
                   echo "$(now) $C $C 0" >>"$sched"
               else
                   curl -fs -X POST "http://127.0.0.1:$ph/control/resume" >/dev/null
                   echo "$(now) $C $C $R" >>"$sched"
               fi
           done ;;
        d) sleep $((warm + 20))
           echo "$(now) $C 0 $R" >>"$sched"
           sqlite3 "$db" "BEGIN EXCLUSIVE;" ".shell sleep 3" "COMMIT;" >/dev/null 2>&1 || true
           echo "$(now) $C $C $R" >>"$sched"
           while :; do sleep 1; done ;;
        *) while :; do sleep 1; done ;;
    esac
}

rows=() starts=()
declare -A p99
load0=$(cut -d' ' -f1-3 /proc/loadavg) t_start=$(date -u +%FT%TZ)
for sc in $scenarios; do
    for pol in $policies; do
        name="$sc-$pol"
        free_port SI; free_port SF; free_port SH; free_port PH
        db="$tmp/$name.db" sched="$tmp/$name.sched"
        : >"$sched"
        cat >"$tmp/$name-store.toml" <<EOT
[store]
id = "$name"
[ingest]
endpoint = "tcp://127.0.0.1:$SI"
[feedback]
endpoint = "tcp://127.0.0.1:$SF"
report_ms = $report_ms
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
refill_rate = $R
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOT
        slog="$out/logs/$name-store.log"
        "$build/store/md-store" --config "$tmp/$name-store.toml" >"$slog" 2>&1 &
        spid=$!; pids+=("$spid"); wait_http "$SH" "$spid" store
        "$build/pipeline/md-pipeline" --config "$tmp/$name-pipe.toml" >"$out/logs/$name-pipe.log" 2>&1 &
        ppid=$!; pids+=("$ppid"); wait_http "$PH" "$ppid" pipeline
        disturb "$sc" "$spid" "$tmp/$name-store.toml" "$PH" "$db" &
        dist=$!
        line=$("$build/bench/bench_probe" --store-http "$SH" --pipeline-http "$PH" \
            --seconds $((warm + secs)) --warmup "$warm" --interval-ms 20 --sink-rows "$C" \
            --schedule "$sched" --store-log "$slog" --trace "$out/logs/$name.trace")
        # (its last sleep, at most 2 s, ends on its own)
        kill "$dist" 2>/dev/null || true; wait "$dist" 2>/dev/null || true
        stop "$ppid" "$spid"
        pids=()
        cp "$sched" "$out/logs/$name.sched"
        echo "$name $line" >>"$out/raw.txt"
        rows+=("| $sc | $pol | $(kv "$line" efficiency) | $(kv "$line" busy) | $(kv "$line" window_p50_ms) / $(kv "$line" window_p99_ms) / $(kv "$line" window_p999_ms) | $(kv "$line" mean_depth) / $(kv "$line" window_max_depth) | $(kv "$line" changes_per_min) | $(kv "$line" retries) |")
        p99["$sc-$pol"]=$(kv "$line" window_p99_ms)
        starts+=("| $sc | $pol | $(kv "$line" start_max_depth) | $(kv "$line" start_changes) |")
        echo "controllers: $name done" >&2
    done
done
{
    echo "C = $C rows/s, provider 10 x C, queue capacity 10000 (watermarks 5000/8000), report_ms $report_ms;"
    echo "$warm s start-up, then $secs s measured per run; $t_start .. $(date -u +%FT%TZ),"
    echo "load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) cores)"
    echo
    echo "| scenario | policy | efficiency | busy | ingest->commit p50 / p99 / p99.9 ms | mean / max depth | level changes /min | retry acks |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Start-up (first $warm s):"
    echo
    echo "| scenario | policy | max depth | level changes |"
    echo "|---|---|---|---|"
    printf '%s\n' "${starts[@]}"
    ratios=""
    for sc in $scenarios; do
        [ -n "${p99[$sc-step]:-}" ] && [ -n "${p99[$sc-target]:-}" ] &&
            ratios+=" ($sc) $(awk -v t="${p99[$sc-target]}" -v s="${p99[$sc-step]}" 'BEGIN { printf "%.2f", (s > 0 ? t / s : 0) }')"
    done
    [ -n "$ratios" ] && { echo; echo "p99 ingest->commit, target / step:$ratios"; }
    true
} | tee "$out/results.md"
