#!/usr/bin/env bash
# bench/live/run.sh: the live tick path, each figure beside a bare loop or a
# limit measured in the same run (bench/README.md, "Live ticks").
#
#   bench/live/run.sh [--quick] [--build DIR] [--out DIR] [--sink-rows C]
#
#  1. aggregation: ticks/s through pipeline/tickbar on one core, 1,000
#     symbols, against a bare loop doing the same lookup and OHLCV update
#     (bench/agg/agg_bench).
#  2. reading: the tick decoders against a bare parse loop (parse_bench),
#     `cat FILE > /dev/null`, and md-pipeline's exec provider running
#     `cat FILE` (CSV and NDJSON) into a null-sink store: ticks/s in.
#  3. end to end: the same exec path with 10 ticks a symbol a bar, so the
#     bars matter too: ticks/s in and bars/s committed (null sink).
#  4. live first: a store whose SQLite sink is throttled to C rows/s
#     (default 10,000), live bars at 0, 0.2 C and 0.8 C from a paced tick
#     feed (tickgen, 1 s bars, one tick a symbol every 200 ms) beside a
#     history backfill asking 50 C: p99 of a live bar's close -> commit,
#     history committed (goal >= 0.9 x (C - live)), retry acks.
#  5. the journal's cost: the reading run of 2. (CSV) with the journal off
#     ([journal] dir = ""), on with fsync_ms 100 (the default) and on with
#     fsync_ms 0, one after the other: ticks/s in and the ratio to off
#     (goal >= 0.9 x at 100).  The other figures run with the journal on
#     (the default), in a fresh directory each.
# Results go to DIR (default bench/live/results/): results.md and logs/.
set -euo pipefail
trap 'rc=$?; echo "bench/live: line $LINENO: \`$BASH_COMMAND\` failed (exit $rc)" >&2' ERR
cd "$(dirname "$0")/../.."
BENCH_TAG=bench/live
# shellcheck source=bench/lib.sh
. bench/lib.sh

quick=0
build=build
out=bench/live/results
C=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --build) build="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "bench/live: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
N=$([ $quick = 1 ] && echo 1000000 || echo 4000000)
live_s=$([ $quick = 1 ] && echo 12 || echo 25)
warm_s=5

[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" store/md-store pipeline/md-pipeline bench/live/tickgen bench/live/parse_bench \
    bench/agg/agg_bench >/dev/null
mkdir -p "$out/logs"
rm -f "$out/results.md" "$out"/logs/*.log
tmp=$(mktemp -d /tmp/mdflow-bench-live-XXXXXX)
pids=()
cleanup () { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
BENCH_LOGDIR="$out/logs"

say () { echo "== $*" >&2; }
row () { printf '| %s | %s |\n' "$1" "$2" | tee -a "$out/results.md"; }
now () { date +%s.%N; }
first_tick () { # wait (4 s at most) for the pipeline's first tick: sets first, t0
    for _ in $(seq 1 400); do
        first=$(scrape "$P_HTTP" mdp_ticks_total)
        [ "$first" -gt 0 ] && break
        sleep 0.01
    done
    t0=$(now)
}
calc () { awk "BEGIN { printf \"$1\n\", $2 }"; }

# pipe_up NAME PROVIDERS_TOML [JOURNAL_TOML]: P_PID P_HTTP; the journal in a
# fresh directory unless JOURNAL_TOML says otherwise
pipe_up () {
    free_port P_HTTP
    local journal=${3:-"dir = \"$tmp/journal-$1\""}
    cat >"$tmp/$1.toml" <<EOF
[pipeline]
id = "$1"
[store]
ingest = ["tcp://127.0.0.1:$S_INGEST"]
feedback = ["tcp://127.0.0.1:$S_FB"]
batch_max = 500
max_inflight = 8
[http]
listen = "127.0.0.1:$P_HTTP"
[journal]
$journal
$2
EOF
    "$build/pipeline/md-pipeline" --config "$tmp/$1.toml" >"$out/logs/$1.log" 2>&1 &
    P_PID=$!
    pids+=("$P_PID")
    wait_http "$P_HTTP" "$P_PID" "$1"
}

# cat_up NAME FILE FORMAT [JOURNAL_TOML]: a null-sink store and a pipeline
# whose exec provider runs `cat FILE`, 1 s bars; returns at its first tick
# (first, t0)
cat_up () {
    store_up "$1-store" null 0
    pipe_up "$1-pipeline" "[[providers]]
name = \"feed\"
type = \"exec\"
command = [\"cat\", \"$2\"]
format = \"$3\"
bar_interval = \"1s\"
grace_ms = 200" "${4:-}"
    first_tick # from the first tick read (start-up is not reading)
}

# read_rate NAME FILE FORMAT [JOURNAL_TOML]: ticks/s md-pipeline takes in
# from `cat FILE` (all N of them) into rate
read_rate () {
    cat_up "$@"
    for _ in $(seq 1 2400); do
        [ "$(scrape "$P_HTTP" mdp_ticks_total)" -ge "$N" ] && break
        sleep 0.02
    done
    local t1 got
    t1=$(now)
    got=$(scrape "$P_HTTP" mdp_ticks_total)
    rate=$(calc "%.0f" "($got - $first) / ($t1 - $t0)")
    stop "$P_PID" "$S_PID"
}

printf '| figure | result |\n|---|---|\n' >"$out/results.md"

# ---------------------------------------------------------------- 1. aggregation
say "aggregation"
agg=$("$build/bench/agg/agg_bench" $([ $quick = 1 ] && echo --quick) | tail -n 1)
row "1. aggregation (one core)" "$agg"

# ---------------------------------------------------------------- 2. reading
# reading: 1,000 ticks a symbol a bar, so the bars cost next to nothing
for fmt in csv ndjson; do
    "$build/bench/live/tickgen" --count "$N" --symbols 1000 --step-us 1 --format "$fmt" >"$tmp/ticks.$fmt"
done
"$build/bench/live/tickgen" --count "$N" --symbols 1000 --step-us 100 >"$tmp/dense.csv"
for fmt in csv ndjson; do
    say "reading $fmt ($N ticks)"
    t0=$(now); cat "$tmp/ticks.$fmt" >/dev/null; t1=$(now)
    cat_rate=$(calc "%.0f" "$N / ($t1 - $t0)")
    parse=$("$build/bench/live/parse_bench" "$tmp/ticks.$fmt" "$fmt" --rounds $([ $quick = 1 ] && echo 3 || echo 5))
    read_rate "read-$fmt" "$tmp/ticks.$fmt" "$fmt"
    exec_rate=$rate
    row "2. reading $fmt: exec (cat FILE into md-pipeline, null sink)" \
        "$(calc "%.2f M ticks/s = %.3f x cat FILE > /dev/null (%.1f M lines/s)" "$exec_rate / 1e6, $exec_rate / $cat_rate, $cat_rate / 1e6")"
    row "2. reading $fmt: decoder alone" "$parse"
done

# ---------------------------------------------------------------- 3. end to end
say "end to end: dense ticks (10 a symbol a bar), null sink"
cat_up e2e "$tmp/dense.csv" csv
bars_want=$((N / 10))
for _ in $(seq 1 2400); do
    [ "$(scrape "$S_HTTP" mds_bars_written_total)" -ge "$bars_want" ] && break
    sleep 0.05
done
t1=$(now)
ticks=$(scrape "$P_HTTP" mdp_ticks_total)
bars=$(scrape "$S_HTTP" mds_bars_written_total)
stop "$P_PID" "$S_PID"
row "3. end to end (exec, 1,000 symbols, 1 s bars, null sink)" \
    "$(calc "%.2f M ticks/s in, %.0f bars/s committed (%d ticks, %d bars in %.1f s)" "($ticks - $first) / ($t1 - $t0) / 1e6, $bars / ($t1 - $t0), $ticks, $bars, $t1 - $t0")"

# ---------------------------------------------------------------- 4. live first
# p99 of the live bars' close -> commit over [warm-up, end], from the
# difference of two scrapes of the histogram, interpolated in its bucket.
hist () { curl -fs "http://127.0.0.1:$1/metrics" | grep '^mdp_live_commit_seconds_bucket' || true; }
p99 () { # p99 FILE_BEFORE FILE_AFTER
    awk 'FNR == NR { match($0, /le="[^"]*"/); b[substr($0, RSTART + 4, RLENGTH - 5)] = $NF; next }
         { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
           n++; les[n] = le; c[n] = $NF - b[le] }
         END { if (n == 0 || c[n] == 0) { print "n/a"; exit }
               want = 0.99 * c[n]; prev = 0; prevc = 0
               for (i = 1; i <= n; i++) { if (c[i] >= want) {
                   if (les[i] == "+Inf") { printf "> %.3f s\n", prev; exit }
                   printf "%.0f ms\n", 1000 * (prev + (les[i] - prev) * (want - prevc) / (c[i] - prevc + 1e-9)); exit }
                   prev = les[i]; prevc = c[i] } }' "$1" "$2"
}
for frac in 0 0.2 0.8; do
    live_bars=$(calc "%.0f" "$frac * $C")
    say "live first: live $frac C ($live_bars bars/s), history asking 50 C, sink $C rows/s, $live_s s"
    store_up "first-$frac-store" sqlite "$C"
    providers="[[providers]]
name = \"history\"
type = \"synthetic\"
capacity = 1000
refill_rate = $((50 * C))
symbols = [\"H1\", \"H2\", \"H3\", \"H4\"]"
    if [ "$live_bars" -gt 0 ]; then
        providers+="
[[providers]]
name = \"live\"
type = \"exec\"
command = [\"$PWD/$build/bench/live/tickgen\", \"--symbols\", \"$live_bars\", \"--rate\", \"$((live_bars * 5))\"]
format = \"csv\"
bar_interval = \"1s\"
grace_ms = 200"
    fi
    pipe_up "first-$frac-pipeline" "$providers"
    sleep "$warm_s"
    hist "$P_HTTP" >"$tmp/h0"
    h0=$(scrape "$P_HTTP" 'mdp_bars_acked_total{provider="history"}')
    l0=$(scrape "$P_HTTP" 'mdp_bars_acked_total{provider="live"}')
    t0=$(now)
    sleep $((live_s - warm_s))
    t1=$(now)
    hist "$P_HTTP" >"$tmp/h1"
    h1=$(scrape "$P_HTTP" 'mdp_bars_acked_total{provider="history"}')
    l1=$(scrape "$P_HTTP" 'mdp_bars_acked_total{provider="live"}')
    retries=$(scrape "$S_HTTP" 'mds_batches_total{status="retry"}')
    p=$( [ "$live_bars" -gt 0 ] && p99 "$tmp/h0" "$tmp/h1" || echo "n/a")
    stop "$P_PID" "$S_PID"
    hist_rate=$(calc "%.0f" "($h1 - $h0) / ($t1 - $t0)")
    live_rate=$(calc "%.0f" "($l1 - $l0) / ($t1 - $t0)")
    row "4. live first: live $frac C, history asks 50 C, C = $C rows/s" \
        "$(calc "live %d bars/s, close -> commit p99 %s; history %d bars/s = %.2f x (C - live); retry acks %d" "$live_rate, \"$p\", $hist_rate, $hist_rate / ($C - $live_rate), $retries")"
done
# ---------------------------------------------------------------- 5. the journal
rounds=$([ $quick = 1 ] && echo 1 || echo 5)
off=() on100=() on0=()
for r in $(seq 1 "$rounds"); do
    say "journal cost, round $r/$rounds: off, fsync_ms 100, fsync_ms 0 ($N ticks each)"
    read_rate "j$r-off" "$tmp/ticks.csv" csv 'dir = ""'
    off+=("$rate")
    read_rate "j$r-100" "$tmp/ticks.csv" csv "dir = \"$tmp/jcost-$r-100\"
fsync_ms = 100"
    on100+=("$rate")
    read_rate "j$r-0" "$tmp/ticks.csv" csv "dir = \"$tmp/jcost-$r-0\"
fsync_ms = 0"
    on0+=("$rate")
    rm -rf "$tmp"/jcost-*
done
median () { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
m_off=$(median "${off[@]}"); m_100=$(median "${on100[@]}"); m_0=$(median "${on0[@]}")
row "5. journal off ([journal] dir = \"\"), exec CSV, median of $rounds" \
    "$(calc "%.2f M ticks/s" "$m_off / 1e6")"
row "5. journal on, fsync_ms 100 (default)" \
    "$(calc "%.2f M ticks/s = %.3f x off (goal >= 0.9)" "$m_100 / 1e6, $m_100 / $m_off")"
row "5. journal on, fsync_ms 0 (sync before aggregating)" \
    "$(calc "%.2f M ticks/s = %.3f x off" "$m_0 / 1e6, $m_0 / $m_off")"
echo
cat "$out/results.md"
