#!/usr/bin/env bash
# bench/scale/run.sh: elastic scale-out measured on the namespace topology of
# tests/scale (tests/scale/topo.sh): N md-store hosts (SQLite sink throttled
# to C rows/s each) joining, through DNS only, P md-pipeline hosts that
# discover them.
#
#   bench/scale/run.sh [--build DIR] [--out DIR] [--sink-rows C]
#                      [--seconds S] [--stores "1 2 3"] [--pipelines "1 4"]
#
# For every N in --stores and P in --pipelines, on a fresh topology:
#  - the N stores start, none in DNS (NXDOMAIN); the P pipelines start, each
#    asking 10 x N x C / P bars/s (the total demand is 10 x N x C, ten times
#    what the N stores take, however many pipelines share it);
#  - the stores join one at a time, 4 s apart, by rewriting the DNS answer;
#  - 5 s after the last join, S seconds (default 20) are measured;
#  - the pipelines are paused and drained, everything is stopped, the
#    databases counted.
# Figures per run:
#  - efficiency = committed rows/s over the S seconds / (N x C), committed
#    being the sum of the stores' mds_bars_written_total;
#  - join -> first commit: from a store's DNS join to the first sample
#    (every 50 ms) where its mds_bars_written_total is above 0; the largest
#    over the N joins (each one listed in the raw output);
#  - retry acks: mds_batches_total{status="retry"} over the stores, whole run;
#  - bars lost: Σ mdp_bars_ingested_total - distinct (provider, symbol, ts)
#    over every database, after the drain (acked == ingested is checked too);
#  - failsafe after the first join: seconds the pipelines spent with
#    mdp_feedback_failsafe = 1, each counted from its first sample with a
#    live store (nothing stops or stalls here, so every member is ok).
# Needs root (network namespaces), dnsmasq, curl, sqlite3; about 4 minutes.
# The table is printed and written to OUT/results.md (default
# bench/scale/out), with the raw samples, events and logs of each run in
# OUT/runs/N-P/.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
build=build out=bench/scale/out C=4000 secs=20 stores="1 2 3" pipes="1 4"
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        --seconds) secs="$2"; shift 2 ;;
        --stores) stores="$2"; shift 2 ;;
        --pipelines) pipes="$2"; shift 2 ;;
        -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/scale: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
BUILD=$(cd "$build" && pwd)
ninja -C "$BUILD" store/md-store pipeline/md-pipeline tests/scale/scale_probe tests/scale/scale_relay >/dev/null
mkdir -p "$out/runs"
OUT=$(cd "$out" && pwd)

skip() { echo "bench/scale: cannot run: $*" >&2; exit 77; }
fail() { echo "bench/scale: FAIL: $*" >&2; exit 1; }
STALE_MS=3000 FORGET_MS=10000 DISCOVER_MS=500 HEARTBEAT_MS=1000
DEADLINE=$((SECONDS + 100000)) # per run below
# shellcheck source=tests/scale/topo.sh
. "$SRC/tests/scale/topo.sh"
set +e # topo.sh's helpers test return codes themselves
topo_check
TMP=""
cleanup() {
    local rc=$?
    trap "" INT TERM
    trap - EXIT
    topo_down
    [ -n "$TMP" ] && rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
live_all() { # live_all N P: every pipeline has N live stores
    local k
    for ((k = 1; k <= $2; k++)); do [ "$(pmetric "p$k" 'mdp_stores{state="live"}')" = "$1" ] || return 1; done
}

row() { # row N P: one run, its table row appended to OUT/results.md
    local n=$1 p=$2 k rate ids="" joins="" worst=0 t first
    TMP=$(mktemp -d /tmp/mdf-bench-scale.XXXXXX)
    chmod 755 "$TMP"
    DEADLINE=$((SECONDS + 150))
    topo_up
    probe_start 50
    for ((k = 1; k <= n; k++)); do store_start "s$k" $((10 + k)) "store-$k" "$C"; done
    rate=$((10 * n * C / p))
    for ((k = 1; k <= p; k++)); do pipe_start "p$k" $((20 + k)) "pipe-$k" "p$k" "$rate"; done
    sleep 1
    for ((k = 1; k <= n; k++)); do
        ids+=" s$k"
        # shellcheck disable=SC2086
        dns_set $ids
        t=$(event_time "dns${ids}")
        wait_for "every pipeline with $k live stores" 10 live_all "$k" "$p"
        sleep 3
        first=$(sample first -v label="s$k" -v key=written -v t0="$t" -v above=0)
        joins+=" s$k:${first}s"
        [ "$first" = none ] && first=999
        worst=$(awk -v a="$worst" -v b="$first" 'BEGIN { print (b > a) ? b : a }')
    done
    local t0 t1 r fs ing=0 ack=0 retry rows
    sleep 5
    t0=$(wall)
    sleep "$secs"
    t1=$(wall)
    r=$(sample rate -v t0="$t0" -v t1="$t1")
    r=${r#rate=}
    local j1 s1_first
    j1=$(event_time "dns s1")
    s1_first=$(sample first -v label=s1 -v key=written -v t0="$j1" -v above=0)
    [ "$s1_first" = none ] && s1_first=0
    fs=$(sample failsafe -v t0="$(plus "$j1" "$s1_first")" -v t1="$t1" -v after_live=1)
    for ((k = 1; k <= p; k++)); do
        ip netns exec "${NS_OF[p$k]}" curl -fsS --max-time 2 -X POST http://127.0.0.1:9102/control/pause >/dev/null ||
            fail "POST /control/pause on p$k"
    done
    drained() {
        local q inflight i a
        for ((q = 1; q <= p; q++)); do
            inflight=$(pmetric "p$q" mdp_batches_inflight) && i=$(pmetric "p$q" mdp_bars_ingested_total) &&
                a=$(pmetric "p$q" mdp_bars_acked_total) && [ "$inflight" = 0 ] && [ "$i" = "$a" ] || return 1
        done
    }
    wait_for "every pipeline paused and drained" 30 drained
    for ((k = 1; k <= p; k++)); do
        ing=$((ing + $(pmetric "p$k" mdp_bars_ingested_total)))
        ack=$((ack + $(pmetric "p$k" mdp_bars_acked_total)))
    done
    retry=0
    for ((k = 1; k <= n; k++)); do retry=$((retry + $(smetric "s$k" 'mds_batches_total{status="retry"}'))); done
    for ((k = 1; k <= p; k++)); do stop "p$k" || fail "p$k exited $? after SIGTERM"; done
    for ((k = 1; k <= n; k++)); do stop "s$k" || fail "s$k exited $? after SIGTERM"; done
    rows=$(union_rows "$TMP"/s*.db)
    topo_down
    mkdir -p "$OUT/runs/$n-$p"
    cp "$TMP"/samples "$TMP"/events "$TMP"/*.log "$TMP"/*.toml "$OUT/runs/$n-$p/"
    rm -rf "$TMP"
    TMP=""
    echo "N=$n P=$p committed=$r efficiency=$(awk -v r="$r" -v c=$((n * C)) 'BEGIN { printf "%.3f", r / c }')" \
        "joins=[$joins ] ingested=$ing acked=$ack rows=$rows retry=$retry failsafe=[${fs}]" >>"$OUT/raw.txt"
    printf '| %d | %d | %d | %s | %.3f | %.2f | %d | %d | %.1f |\n' "$n" "$p" "$rate" "$r" \
        "$(awk -v r="$r" -v c=$((n * C)) 'BEGIN { print r / c }')" "$worst" "$retry" $((ing - rows)) \
        "$(echo "$fs" | sed -n 's/.*total=\([0-9.]*\).*/\1/p')" >>"$OUT/results.md"
    [ "$ack" = "$ing" ] || log "WARNING: acked $ack != ingested $ing"
}

: >"$OUT/raw.txt"
{
    echo "C = $C rows/s per store (SQLite, throttled); total demand 10 x N x C, split evenly over P pipelines;"
    echo "joins 4 s apart through DNS (discover_interval_ms $DISCOVER_MS); $secs s measured from 5 s after the last join."
    echo
    echo "| stores N | pipelines P | bars/s asked per pipeline | committed rows/s | efficiency (÷ N x C) | join → first commit, worst (s) | retry acks | bars lost | failsafe after first join (s) |"
    echo "|---|---|---|---|---|---|---|---|---|"
} >"$OUT/results.md"
for n in $stores; do
    for p in $pipes; do row "$n" "$p"; done
done
cat "$OUT/results.md"
echo
cat "$OUT/raw.txt"
