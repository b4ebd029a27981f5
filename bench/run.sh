#!/usr/bin/env bash
# bench/run.sh: what the closed loop costs and how well it works, in one table.
#
#   bench/run.sh [--quick] [--only N] [--build DIR] [--out DIR] [--sink-rows C]
#
#  1. closed loop at 2x, 5x, 10x overload of a SQLite sink throttled to C rows/s
#     (default 10,000): efficiency = committed rate / C, max queue depth, retry
#     acks, time at HARD; plus 10x with feedback disabled, for contrast;
#  2. feedback reaction: level change published -> scale applied by
#     md-pipeline, p50/p99/max over >= 1,000 events (bench_react);
#  3. end-to-end ceiling with the null sink, batches of 500, windows 8 and 32,
#     against a raw ZeroMQ DEALER/ROUTER loop moving the same bytes with the
#     same window (bench_zmq_loop), the same loop encoding and decoding every
#     batch (--codec), and the codec alone (bench/codec: one thread); rounds
#     alternate the services and the loops, and the ratios are medians over
#     the rounds: one line per window,
#     "ceiling: N bars/s = R x the zmq+codec loop, Q x raw zmq, C x codec";
#  4. SQLite sink ceiling (unthrottled store) vs a bare C upsert loop with the
#     same schema and 5,000-row transactions (bench_sqlite_loop);
#  5. RSS of each service at defaults when idle, and after 60 s of overload.
#
# Everything runs on 127.0.0.1 on free ports, databases in a temporary
# directory.  --quick shortens every phase (about 1.5 minutes instead of ~6);
# --only N runs measure N alone (repeat it for several, --only 1 --only 3).
# The table is printed and written to OUT/results.md (default bench/out/), with
# each helper's raw output and the services' logs beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TAG=bench
# shellcheck source=bench/lib.sh
. bench/lib.sh
# The runs use their own loopback configs and POST /control/pause without a
# token: a control token exported for another pipeline must not apply here.
unset MDP_HTTP_CONTROL_TOKEN MDP_HTTP_CONTROL_TOKEN_FILE

quick=0
only=" "
build=build
out=bench/out
C=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --only) only+="$2 "; shift 2 ;;
        --build) build="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

if [ "$quick" = 1 ]; then
    loop_s=8 warm_s=3 ceil_s=3 ceil_rounds=2 sqlite_s=4 rss_s=10 transitions=1000 mode=quick
else
    loop_s=30 warm_s=5 ceil_s=4 ceil_rounds=7 sqlite_s=15 rss_s=60 transitions=5000 mode=full
fi

[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" store/md-store pipeline/md-pipeline bench/bench_zmq_loop \
    bench/bench_sqlite_loop bench/bench_probe bench/bench_react bench/codec/codec_bench >/dev/null
wanted () { [ "$only" = " " ] || [[ "$only" == *" $1 "* ]]; } # wanted N: measure N is on

mkdir -p "$out/logs"
rm -f "$out"/*.txt "$out"/logs/*.log "$out/results.md"
tmp=$(mktemp -d /tmp/mdflow-bench-XXXXXX)
pids=()
cleanup () {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
BENCH_LOGDIR="$out/logs"


# pipe_up NAME REFILL INFLIGHT BUCKET FEEDBACK [FB_ENDPOINT] [FEEDBACK_TOML]: sets P_PID P_HTTP
pipe_up () {
    free_port P_HTTP
    cat >"$tmp/$1.toml" <<EOF
[pipeline]
id = "$1"
[store]
ingest = ["tcp://127.0.0.1:$S_INGEST"]
feedback = ["${6:-tcp://127.0.0.1:$S_FB}"]
batch_max = 500
max_inflight = $3
ack_timeout_ms = 10000
[feedback]
enabled = $5
${7:-}
[http]
listen = "127.0.0.1:$P_HTTP"
[[providers]]
name = "synthetic"
type = "synthetic"
capacity = $4
refill_rate = $2
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOF
    "$build/pipeline/md-pipeline" --config "$tmp/$1.toml" >"$out/logs/$1.log" 2>&1 &
    P_PID=$!
    pids+=("$P_PID")
    wait_http "$P_HTTP" "$P_PID" "$1"
}


drain_pipe () { # pause the pipeline and wait (max 60 s) for its last acks
    curl -fs -X POST "http://127.0.0.1:$P_HTTP/control/pause" >/dev/null || true
    for _ in $(seq 1 600); do
        [ "$(scrape "$P_HTTP" mdp_batches_inflight)" = 0 ] && return 0
        sleep 0.1
    done
}

rss_mib () { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib () { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

rows=()
row () { rows+=("| $1 | $2 | $3 |"); }
say () { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- 1. closed loop
wanted 1 && for k in 2 5 10 10nofb; do
    factor=${k%nofb} feedback=true label="${factor}x overload"
    [ "$k" = 10nofb ] && feedback=false label="10x overload, feedback off"
    say "closed loop: $label, sink $C rows/s, ${loop_s} s"
    store_up "loop-$k-store" sqlite "$C"
    pipe_up "loop-$k-pipeline" $((factor * C)) 32 1000 "$feedback"
    line=$("$build/bench/bench_probe" --store-http "$S_HTTP" --pipeline-http "$P_HTTP" \
        --seconds "$loop_s" --warmup "$warm_s" --interval-ms 10 --sink-rows "$C")
    echo "$k $line" >>"$out/loop.txt"
    drain_pipe
    ingested=$(scrape "$P_HTTP" mdp_bars_ingested_total)
    stop "$P_PID"
    stop "$S_PID"
    db_rows=$(sqlite3 "$S_DB" 'SELECT count(*) FROM bars;' 2>/dev/null || echo "?")
    applied="store event -> scale applied: mean $(kv "$line" fb_apply_mean_ms) ms over $(kv "$line" fb_events) events"
    [ "$feedback" = false ] && applied="pipeline ignores feedback"
    row "1. closed loop, $label" \
        "efficiency $(kv "$line" efficiency), max depth $(kv "$line" max_depth) / $(kv "$line" capacity)" \
        "committed $(kv "$line" committed_rate)/s of $C; retries $(kv "$line" retries); HARD $(kv "$line" hard_pct)% SOFT $(kv "$line" soft_pct)%; receipt-to-commit p99 $(kv "$line" commit_p99_ms) ms; $applied; rows $db_rows, ingested $ingested"
done

# ------------------------------------------------------------- 2. reaction
if wanted 2; then
say "feedback reaction: $transitions transitions"
free_port S_INGEST
free_port fb_port
pipe_up react-pipeline 0 8 1000 true "tcp://127.0.0.1:$fb_port"
line=$("$build/bench/bench_react" --bind "tcp://127.0.0.1:$fb_port" --pipeline-http "$P_HTTP" \
    --transitions "$transitions")
echo "$line" >"$out/react.txt"
stop "$P_PID"
row "2. feedback reaction (event ts -> scale applied)" \
    "p50 $(kv "$line" applied_p50_ms) ms, p99 $(kv "$line" applied_p99_ms) ms, max $(kv "$line" applied_max_ms) ms" \
    "$(kv "$line" transitions) spaced events, each timed exactly by the pipeline's mdp_feedback_apply_delay_seconds_sum; ZeroMQ alone (same event to a SUB in the bench) p50 $(kv "$line" zmq_p50_ms) / p99 $(kv "$line" zmq_p99_ms) ms; one /metrics GET p50 $(kv "$line" scrape_p50_ms) ms; polled back to back until pipeline_backpressure_state shows it: p50 $(kv "$line" seen_p50_ms) / p99 $(kv "$line" seen_p99_ms) ms"
fi

# ------------------------------------------------------- 3. null-sink ceiling
# The pipeline runs its default policy (share): a null sink's speed is
# published as a lower bound that rises with what it takes, so the window,
# not the controller, bounds the rate.  This machine's speed drifts by 10-30 %
# over tens of seconds, so one long run of each would compare different
# machines: each round runs the services, then the raw loop, then the loop
# with the codec, a few seconds each, and the ratios are taken per round; the
# line gives the median over the rounds (and their range).  The codec's figure
# (bench/codec, one thread) is taken once per window.
median () { # median of the numbers on stdin (blank lines skipped)
    sort -g | awk 'NF { a[++n] = $1 } END { if (n) printf "%.10g", (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }'
}
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
wanted 3 && for inflight in 8 32; do
    say "null-sink ceiling: max_inflight $inflight, $ceil_rounds rounds of ${ceil_s} s (services, raw loop, loop with codec)"
    e2e_l="" raw_l="" zc_l="" rz_l="" rr_l=""
    for round in $(seq 1 "$ceil_rounds"); do
        store_up "null-$inflight-$round-store" null 0
        pipe_up "null-$inflight-$round-pipeline" 1000000000 "$inflight" 100000 true
        line=$("$build/bench/bench_probe" --store-http "$S_HTTP" --pipeline-http "$P_HTTP" \
            --seconds $((ceil_s + 1)) --warmup 1 --interval-ms 100)
        stop "$P_PID"
        stop "$S_PID"
        raw=$("$build/bench/bench_zmq_loop" --bars 500 --inflight "$inflight" --seconds "$ceil_s")
        zcodec=$("$build/bench/bench_zmq_loop" --bars 500 --inflight "$inflight" --seconds "$ceil_s" --codec)
        e=$(kv "$line" acked_rate) r=$(kv "$raw" bars_per_sec) z=$(kv "$zcodec" bars_per_sec)
        echo "null $inflight round $round $line" >>"$out/ceiling.txt"
        echo "raw $inflight round $round $raw" >>"$out/ceiling.txt"
        echo "zmq+codec $inflight round $round $zcodec" >>"$out/ceiling.txt"
        echo "round $round: services $e, loop with codec $z ($(ratio "$e" "$z") x), raw loop $r ($(ratio "$e" "$r") x) bars/s" >&2
        e2e_l+="$e " raw_l+="$r " zc_l+="$z " rz_l+="$(ratio "$e" "$z") " rr_l+="$(ratio "$e" "$r") "
    done
    codec=$("$build/bench/codec/codec_bench" --bars 500 --bars2 0 2>/dev/null)
    echo "codec $inflight $codec" >>"$out/ceiling.txt"
    e2e=$(tr ' ' '\n' <<<"$e2e_l" | median | awk '{ printf "%.0f", $1 }')
    rz=$(tr ' ' '\n' <<<"$rz_l" | median | awk '{ printf "%.2f", $1 }')
    rr=$(tr ' ' '\n' <<<"$rr_l" | median | awk '{ printf "%.2f", $1 }')
    range=$(tr ' ' '\n' <<<"$rz_l" | sort -g | awk 'NF { a[++n] = $1 } END { printf "%s-%s", a[1], a[n] }')
    rc=$(awk '{ print $2 }' <<<"$codec")
    ceiling="ceiling: $e2e bars/s = $rz x the zmq+codec loop, $rr x raw zmq, $(ratio "$e2e" "$rc") x codec"
    echo "$ceiling (window $inflight; median of $ceil_rounds rounds, $range x the loop)"
    row "3. end-to-end ceiling, null sink, batch 500, window $inflight" "${ceiling#ceiling: }" \
        "median of $ceil_rounds rounds, each the services then the loops for ${ceil_s} s; services / loop with codec per round $range; DEALER/ROUTER loop that encodes and decodes every batch: median $(tr ' ' '\n' <<<"$zc_l" | median) bars/s; the same loop moving the bytes only: median $(tr ' ' '\n' <<<"$raw_l" | median) bars/s (30 kB batches); codec alone (bench/codec, encode + decode, one thread) $rc bars/s"
done

# -------------------------------------------------------- 4. SQLite ceiling
if wanted 4; then
say "SQLite sink ceiling: ${sqlite_s} s"
store_up sqlite-store sqlite 0
pipe_up sqlite-pipeline 1000000000 32 100000 true
line=$("$build/bench/bench_probe" --store-http "$S_HTTP" --pipeline-http "$P_HTTP" \
    --seconds "$sqlite_s" --warmup 2 --interval-ms 100)
echo "store $line" >>"$out/sqlite.txt"
stop "$P_PID"
stop "$S_PID"
store_rate=$(kv "$line" committed_rate)
bare_rows=$(awk -v r="$store_rate" -v s="$sqlite_s" 'BEGIN { n = r * s; if (n < 200000) n = 200000; printf "%d", n }')
bare=$("$build/bench/bench_sqlite_loop" --db "$tmp/bare.db" --rows "$bare_rows" --batch 5000)
echo "bare $bare" >>"$out/sqlite.txt"
b=$(kv "$bare" rows_per_sec)
row "4. SQLite sink ceiling (synchronous=normal, WAL)" \
    "$store_rate rows/s = $(awk -v a="$store_rate" -v b="$b" 'BEGIN { printf "%.3f", a / b }') x bare loop" \
    "bare C upsert loop, 5,000-row transactions: $b rows/s ($bare_rows rows); store: queue max $(kv "$line" max_depth), HARD $(kv "$line" hard_pct)%"

fi

# ------------------------------------------------------------------- 5. RSS
if wanted 5; then
say "RSS: idle at defaults, then ${rss_s} s of 10x overload"
store_up rss-idle-store sqlite 0
pipe_up rss-idle-pipeline 0 8 1000 true
curl -fs -o /dev/null "http://127.0.0.1:$S_HTTP/metrics"
store_idle=$(rss_mib "$S_PID") pipe_idle=$(rss_mib "$P_PID")
stop "$P_PID"
stop "$S_PID"
store_up rss-load-store sqlite "$C"
pipe_up rss-load-pipeline $((10 * C)) 32 1000 true
"$build/bench/bench_probe" --store-http "$S_HTTP" --seconds "$rss_s" --warmup 0 \
    --interval-ms 100 >"$out/rss-probe.txt"
store_load=$(rss_mib "$S_PID") store_hwm=$(hwm_mib "$S_PID")
pipe_load=$(rss_mib "$P_PID") pipe_hwm=$(hwm_mib "$P_PID")
stop "$P_PID"
stop "$S_PID"
echo "store idle $store_idle load $store_load hwm $store_hwm; pipeline idle $pipe_idle load $pipe_load hwm $pipe_hwm (MiB)" >"$out/rss.txt"
row "5. RSS md-store" "idle $store_idle MiB; after ${rss_s} s overload $store_load MiB" \
    "peak (VmHWM) $store_hwm MiB; idle = default settings; overload = sink $C rows/s, provider 10x, window 32 x 500"
row "5. RSS md-pipeline" "idle $pipe_idle MiB; after ${rss_s} s overload $pipe_load MiB" \
    "peak (VmHWM) $pipe_hwm MiB; idle = one synthetic provider at refill_rate 0"
fi

# ------------------------------------------------------------------ table
{
    echo "mdflow benchmarks ($mode run, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m))"
    echo
    echo "| measure | figure | detail |"
    echo "|---|---|---|"
    printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
