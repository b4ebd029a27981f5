#!/usr/bin/env bash
# run.sh: the README's run command.  On a fresh Debian 12 machine it installs
# what is missing, builds, and runs the closed loop on loopback:
#
#   md-store    SQLite sink throttled to 20,000 rows/s   (tools/demo/store.toml)
#   md-pipeline one synthetic provider asking 100,000/s   (tools/demo/pipeline.toml)
#
# It shows the live feedback view (mdctl watch) until Ctrl-C or --duration, then
# pauses the pipeline, lets every batch be acked, stops both services cleanly
# (the store drains its queue), prints a summary and writes a plot.
#
#   tools/run.sh [--duration SECONDS] [--out DIR] [--store-config F] [--pipeline-config F]
#
# Output (logs, database, run.csv, run.png) goes to DIR (default run/), and
# so does a live provider's journal (DIR/journal, MDP_JOURNAL_DIR): each run
# starts from an empty database and an empty journal.  The build directory
# is $MDF_BUILD_DIR (default build/).
set -euo pipefail
trap 'rc=$?; echo "run.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $rc)" >&2' ERR
cd "$(dirname "$0")/.."

duration=0
out=run
store_cfg=tools/demo/store.toml
pipe_cfg=tools/demo/pipeline.toml
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --duration | --out | --store-config | --pipeline-config)
            if [ $# -lt 2 ]; then
                echo "run.sh: $1 needs a value (try --help)" >&2
                exit 2
            fi
            case "$1" in
                --duration) duration="$2" ;;
                --out) out="$2" ;;
                --store-config) store_cfg="$2" ;;
                --pipeline-config) pipe_cfg="$2" ;;
            esac
            shift 2 ;;
        *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$duration" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "run.sh: --duration wants a number of seconds (0: until Ctrl-C), got '$duration'" >&2
    exit 2
fi
for f in "$store_cfg" "$pipe_cfg"; do
    if [ ! -r "$f" ]; then
        echo "run.sh: cannot read config file '$f'" >&2
        exit 2
    fi
done

tools/deps.sh run
build="${MDF_BUILD_DIR:-build}"
# Quiet when it works; the tail of meson's or ninja's output when it does not.
if ! log=$( { [ -d "$build" ] || meson setup "$build"; } 2>&1 &&
            ninja -C "$build" store/md-store pipeline/md-pipeline tools/mdctl 2>&1); then
    printf '%s\n' "$log" | tail -n 30 >&2
    echo "run.sh: building md-store, md-pipeline and mdctl in $build/ failed (above)" >&2
    exit 1
fi

cfg_get () { # cfg_get FILE KEY: first `KEY = value` in the file, quotes stripped
    sed -n "s/^$2[[:space:]]*=[[:space:]]*\"\{0,1\}\([^\"#]*\)\"\{0,1\}.*/\1/p" "$1" | head -n 1 | tr -d ' '
}
store_http=$(cfg_get "$store_cfg" listen)
pipe_http=$(cfg_get "$pipe_cfg" listen)
feedback_ep=$(sed -n '/^\[feedback\]/,/^\[/s/^endpoint[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' "$store_cfg")
sink_cap=$(cfg_get "$store_cfg" max_rows_per_sec)
low=$(cfg_get "$store_cfg" low_watermark)
high=$(cfg_get "$store_cfg" high_watermark)
db_path=$(cfg_get "$store_cfg" path)
# The pipeline's /control/ bearer token, when one is set (environment first,
# as md-pipeline reads it); sent on stdin so it never shows in `ps`.
control_token=${MDP_HTTP_CONTROL_TOKEN:-$(cfg_get "$pipe_cfg" control_token)}
token_file=${MDP_HTTP_CONTROL_TOKEN_FILE:-$(cfg_get "$pipe_cfg" control_token_file)}
if [ -z "$control_token" ] && [ -n "$token_file" ]; then
    control_token=$(head -n 1 "$token_file" | tr -d ' \t\r')
fi
control_post () { # control_post NAME: POST /control/NAME to the pipeline
    if [ -n "$control_token" ]; then
        printf 'Authorization: Bearer %s\n' "$control_token" |
            curl -fs -H @- -X POST "http://$pipe_http/control/$1" >/dev/null
    else
        curl -fs -X POST "http://$pipe_http/control/$1" >/dev/null
    fi
}

# A service already answering on one of the HTTP ports (another run, or
# services started by hand) would be mistaken for ours.
for hp in "$store_http" "$pipe_http"; do
    if curl -s -o /dev/null --max-time 2 "http://$hp/health"; then
        echo "run.sh: something already answers on http://$hp (another md-store or md-pipeline?):" \
            "stop it, or give configs with other ports (--store-config, --pipeline-config)" >&2
        exit 1
    fi
done

mkdir -p "$out"
rm -f "$db_path" "$db_path-wal" "$db_path-shm" "$out/run.csv" "$out/run.png"
rm -rf "$out/journal"
export MDP_JOURNAL_DIR="$out/journal"
store_pid="" pipe_pid="" rec_pid=""
cleanup () {
    for pid in $rec_pid $pipe_pid $store_pid; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_http () { # wait_http HOST:PORT PID NAME
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "http://$1/health" && return 0
        kill -0 "$2" 2>/dev/null || { echo "run.sh: $3 exited; see $out/$3.log" >&2; tail -n 5 "$out/$3.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "run.sh: $3 did not answer on http://$1/health within 10 s; see $out/$3.log" >&2
    exit 1
}
scrape () { # scrape HOST:PORT NAME: sum of the series of one metric
    curl -fs "http://$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}

"$build/store/md-store" --config "$store_cfg" >"$out/md-store.log" 2>&1 &
store_pid=$!
wait_http "$store_http" "$store_pid" md-store
"$build/pipeline/md-pipeline" --config "$pipe_cfg" >"$out/md-pipeline.log" 2>&1 &
pipe_pid=$!
wait_http "$pipe_http" "$pipe_pid" md-pipeline
"$build/tools/mdctl" record --feedback "$feedback_ep" --pipeline-http "$pipe_http" \
    --store-http "$store_http" --out "$out/run.csv" --interval-ms 100 >"$out/mdctl-record.log" 2>&1 &
rec_pid=$!

started=$(date +%s.%N)
echo "mdflow: md-store (pid $store_pid) and md-pipeline (pid $pipe_pid) running; Ctrl-C stops." >&2
watch_args=("$feedback_ep" --http "$pipe_http" --low "$low" --high "$high")
[ "$duration" != 0 ] && watch_args+=(--duration "$duration")
trap 'echo; echo "mdflow: stopping..." >&2' INT
"$build/tools/mdctl" watch "${watch_args[@]}" || true
trap - INT
# Pause: providers stop, batches already made are acked; then stop cleanly.
control_post pause || true
for _ in $(seq 1 100); do
    [ "$(scrape "$pipe_http" mdp_batches_inflight)" = 0 ] && break
    sleep 0.1
done
produced=$(scrape "$pipe_http" mdp_bars_ingested_total)
acked=$(scrape "$pipe_http" mdp_bars_acked_total)
retries=$(scrape "$store_http" 'mds_batches_total{status="retry"}')
events=$(scrape "$store_http" mds_feedback_events_total)
written=$(scrape "$store_http" mds_bars_written_total)
elapsed=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN { print a - b }')
kill -TERM "$rec_pid" 2>/dev/null || true
kill -TERM "$pipe_pid" 2>/dev/null || true
wait "$pipe_pid" || echo "run.sh: md-pipeline exited with $?" >&2
kill -TERM "$store_pid" 2>/dev/null || true
wait "$store_pid" || echo "run.sh: md-store exited with $?" >&2
wait "$rec_pid" 2>/dev/null || true
store_pid="" pipe_pid="" rec_pid=""
rows=$(sqlite3 "$db_path" 'SELECT count(*) FROM bars;' 2>/dev/null || echo "?")
if [ ! -s "$out/run.csv" ]; then
    echo "run.sh: mdctl record wrote no $out/run.csv; see $out/mdctl-record.log" >&2
    exit 1
fi

awk -F, -v elapsed="$elapsed" -v produced="$produced" -v acked="$acked" -v rows="$rows" \
    -v written="$written" -v cap="$sink_cap" -v events="$events" -v retries="$retries" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    q = $col["queue_size"] + 0; if (q > maxq) maxq = q
    if (NR > 2) { dt = $col["t"] - prev; lvl[$col["level"]] += dt }
    prev = $col["t"]
}
END {
    printf "\n== mdflow run summary (%.1f s) ==\n", elapsed
    printf "bars produced (pipeline)   %d\n", produced
    printf "bars acked                 %d\n", acked
    printf "rows in the database       %s\n", rows
    printf "max queue depth            %d\n", maxq
    printf "time per level             ok %.1f s, soft %.1f s, hard %.1f s\n", lvl["ok"], lvl["soft"], lvl["hard"]
    printf "feedback events            %d\n", events
    printf "retry acks                 %d\n", retries
    if (cap > 0 && elapsed > 0)
        printf "efficiency                 %.2f (committed %.0f rows/s of a %d rows/s sink)\n", written / elapsed / cap, written / elapsed, cap
}' "$out/run.csv"
if "$build/tools/mdctl" plot "$out/run.csv" --out "$out/run.png" --low "$low" --high "$high" >/dev/null 2>&1; then
    echo "plot                       $out/run.png"
fi
