#!/usr/bin/env bash
# bench/controllers/run.sh: the pipeline's policies compared in every
# scenario, one run, one table: real md-store(s) (SQLite sink throttled to
# C rows/s, queue capacity 10,000, high watermark 8,000) and md-pipeline(s)
# (synthetic provider) on loopback, every other key at its shipped default.
#
#   bench/controllers/run.sh [--build DIR] [--seconds S] [--warmup W]
#                            [--sink-rows C] [--out DIR]
#                            [--policies "share step aimd target"]
#                            [--scenarios "a2 a10 a100 b c d e f"]
#
# Each cell (one policy in one scenario) lasts W + S seconds (default 5 +
# 25); every measure below is over the last S seconds unless said.
# Scenarios (the provider offers 10 x C unless said):
#  a2, a10, a100  steady overload: the provider offers 2, 10, 100 x C;
#  b   sink capacity C x (1 + 0.5 sin(2 pi t / 10 s)), set every 0.5 s by
#      rewriting sink.max_rows_per_sec and sending SIGHUP to the store;
#  c   bursty provider: on 2 s, off 2 s (POST /control/pause and /resume);
#  d   sink outage of 3 s, W + 10 s after the start: an exclusive SQLite lock
#      held on the store's database (the store's write waits on it);
#  e   10 pipelines, each offering C (10 x C in total), all started at once;
#  f   1 -> 3 stores while running: in a network namespace of its own, whose
#      /etc/hosts (ip netns exec bind-mounts /etc/netns/NS/hosts) gives the
#      name stores.mdflow-bench one address, 127.0.0.2; three stores run on
#      127.0.0.2/3/4 (each its own sink at C), the pipeline finds them with
#      [store] discover = "stores.mdflow-bench".  W + 8 s after the start the
#      hosts file is rewritten in place to list all three; the pipeline sees
#      them at its next lookup (discover_interval_ms, 0.5 s by default).  Needs
#      root (ip netns); skipped otherwise.
# Measures (bench/bench_probe, polling every service's /metrics every 20 ms):
#  - efficiency = committed / integral of min(sink capacity, offered) dt:
#    capacity is the throttle (the sum over the stores the pipeline is told
#    about in f, from the hosts rewrite on), 0 during d's outage; offered is
#    what the providers ask while they run, 0 while c holds them paused;
#  - receipt->commit p50/p99: the stores' mds_ingest_commit_seconds, buckets
#    at the end minus buckets at the end of the warm-up;
#  - level changes per minute: the stores' "level changed" log lines in the
#    window (summed over the stores in f);
#  - retry acks: mds_batches_total{status="retry"} over the whole run;
#  - max queue after the first 2 s (start-up included) against the high
#    watermark, the highest one store reached;
#  - fairness (e): min / max of the pipelines' mdp_bars_acked_total increase
#    over the window.
# Any key can be overridden from the environment (MDP_FEEDBACK_GAIN=...,
# MDS_FEEDBACK_REPORT_MS=...), as with any run of the services.  The table on
# stdout and in OUT/results.md; raw probe lines in OUT/raw.txt, per-cell logs
# and 20 ms traces (seconds, highest depth, highest level, mean scale, the
# service rates and producers the stores last published) in OUT/logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_TAG=controllers
# shellcheck source=bench/lib.sh
. bench/lib.sh
# The runs use their own loopback configs and POST /control/pause without a
# token: a control token exported for another pipeline must not apply here.
unset MDP_HTTP_CONTROL_TOKEN MDP_HTTP_CONTROL_TOKEN_FILE

build=build secs=25 warm=5 C=5000 out=bench/controllers/out
policies="share step aimd target" scenarios="a2 a10 a100 b c d e f"
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --seconds) secs="$2"; shift 2 ;;
        --warmup) warm="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        --policies) policies="$2"; shift 2 ;;
        --scenarios) scenarios="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h | --help) sed -n '2,49p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "controllers: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
HWM=8000 # the store's default queue.high_watermark
ninja -C "$build" store/md-store pipeline/md-pipeline bench/bench_probe >/dev/null
mkdir -p "$out/logs"
: >"$out/raw.txt"
tmp=$(mktemp -d /tmp/mdflow-ctl-XXXXXX)
ns="" nsx=()
pids=() bg=()
cleanup () {
    # the probe and the disturbance first (a disturbance's last sleep, at
    # most 2 s, ends on its own), then the services
    for pid in "${bg[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    stop_all
    if [ -n "$ns" ]; then
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 143" TERM INT

now () { date +%s.%N; }
join () { local IFS=,; echo "$*"; }

# store_conf NAME INGEST FEEDBACK HTTP DB: a store's config on stdout
store_conf () {
    cat <<EOT
[store]
id = "$1"
[ingest]
endpoint = "$2"
[feedback]
endpoint = "$3"
[sink]
type = "sqlite"
path = "$5"
max_rows_per_sec = $C
[http]
listen = "127.0.0.1:$4"
EOT
}

# pipe_conf NAME POLICY HTTP RATE STORE_TOML: a pipeline's config on stdout
pipe_conf () {
    cat <<EOT
[pipeline]
id = "$1"
$5
[feedback]
policy = "$2"
[http]
listen = "127.0.0.1:$3"
[[providers]]
name = "synthetic"
type = "synthetic"
refill_rate = $4
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOT
}

# The scenario's disturbance, in the background; appends "wall throttle
# capacity offered" lines to $sched whenever it changes one of them.
disturb () { # disturb SCENARIO STORE_PID STORE_TOML PIPE_HTTP DB OFFERED
    local sc="$1" spid="$2" toml="$3" ph="$4" db="$5" R="$6" t0 k r
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
        d) sleep $((warm + 10))
           echo "$(now) $C 0 $R" >>"$sched"
           sqlite3 "$db" "BEGIN EXCLUSIVE;" ".shell sleep 3" "COMMIT;" >/dev/null 2>&1 || true
           echo "$(now) $C $C $R" >>"$sched"
           while :; do sleep 1; done ;;
        f) sleep $((warm + 8))
           # in place (same inode): the namespace's bind mount of it follows
           printf '127.0.0.1 localhost\n127.0.0.2 stores.mdflow-bench\n127.0.0.3 stores.mdflow-bench\n127.0.0.4 stores.mdflow-bench\n' \
               >"/etc/netns/$ns/hosts"
           echo "$(now) $((3 * C)) $((3 * C)) $R" >>"$sched"
           while :; do sleep 1; done ;;
        *) while :; do sleep 1; done ;;
    esac
}

# f's namespace: loopback up, a hosts file of its own (one store listed).
netns_up () {
    ns="mdflow-ctl-$$"
    if ! ip netns add "$ns" 2>/dev/null; then
        ns=""; return 1
    fi
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"
    printf '127.0.0.1 localhost\n127.0.0.2 stores.mdflow-bench\n' >"/etc/netns/$ns/hosts"
}
netns_down () {
    [ -n "$ns" ] || return 0
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
    ns=""
}

# run_cell SCENARIO POLICY: one cell; appends to rows[] and raw.txt
run_cell () {
    local sc="$1" pol="$2" name="$1-$2" factor=10 npipes=1 nstores=1 k
    local sports=() spids=() slogs=() pports=() ppids=() stoml=""
    case "$sc" in
        a2) factor=2 ;; a10) factor=10 ;; a100) factor=100 ;;
        e) npipes=10 ;;
        f) nstores=3 ;;
    esac
    local R=$((factor * C)) per=$((factor * C / npipes))
    sched="$tmp/$name.sched"
    : >"$sched"
    nsx=()
    if [ "$sc" = f ]; then
        netns_up || { echo "controllers: no network namespace (needs root): $name skipped" >&2; return 0; }
        nsx=(ip netns exec "$ns")
        # only the first store is counted until the hosts rewrite
        for ((k = 0; k < nstores; k++)); do
            sports+=($((18101 + k)))
            store_conf "$name-s$((k + 1))" "tcp://127.0.0.$((k + 2)):5555" \
                "tcp://127.0.0.$((k + 2)):5556" "${sports[k]}" "$tmp/$name-s$((k + 1)).db" \
                >"$tmp/$name-s$((k + 1)).toml"
        done
        stoml='[store]
discover = "stores.mdflow-bench"'
        pports=(18200)
    else
        local SI SF SH PH
        free_port SI; free_port SF; free_port SH
        sports=("$SH")
        store_conf "$name-s1" "tcp://127.0.0.1:$SI" "tcp://127.0.0.1:$SF" "$SH" "$tmp/$name-s1.db" \
            >"$tmp/$name-s1.toml"
        stoml="[store]
ingest = [\"tcp://127.0.0.1:$SI\"]
feedback = [\"tcp://127.0.0.1:$SF\"]"
        for ((k = 0; k < npipes; k++)); do free_port PH; pports+=("$PH"); done
    fi
    for ((k = 0; k < nstores; k++)); do
        slogs+=("$out/logs/$name-s$((k + 1)).log")
        "${nsx[@]}" "$build/store/md-store" --config "$tmp/$name-s$((k + 1)).toml" >"${slogs[k]}" 2>&1 &
        spids+=($!); pids+=($!)
    done
    for ((k = 0; k < nstores; k++)); do
        wait_http "${sports[k]}" "${spids[k]}" "$name store $((k + 1))" "${nsx[@]}"
    done
    # the probe and the disturbance start with the pipelines, so the probe's
    # "after the first 2 s" counts from the pipelines' start; f: the probe
    # watches every store from the start (the two not yet listed hold
    # nothing) and the schedule counts one sink until the hosts rewrite
    for ((k = 0; k < npipes; k++)); do
        pipe_conf "$name-p$((k + 1))" "$pol" "${pports[k]}" "$per" "$stoml" >"$tmp/$name-p$((k + 1)).toml"
    done
    "${nsx[@]}" "$build/bench/bench_probe" --store-http "$(join "${sports[@]}")" \
        --pipeline-http "$(join "${pports[@]}")" --seconds $((warm + secs)) --warmup "$warm" \
        --settle 2 --interval-ms 20 --sink-rows "$C" --high-watermark "$HWM" \
        --schedule "$sched" --store-log "$(join "${slogs[@]}")" --trace "$out/logs/$name.trace" \
        >"$tmp/$name.probe" &
    local probe=$! dist line
    bg=("$probe")
    # every pipeline at once, then wait for them
    for ((k = 0; k < npipes; k++)); do
        "${nsx[@]}" "$build/pipeline/md-pipeline" --config "$tmp/$name-p$((k + 1)).toml" \
            >"$out/logs/$name-p$((k + 1)).log" 2>&1 &
        ppids+=($!); pids+=($!)
    done
    disturb "$sc" "${spids[0]}" "$tmp/$name-s1.toml" "${pports[0]}" "$tmp/$name-s1.db" "$R" &
    dist=$!
    bg+=("$dist")
    for ((k = 0; k < npipes; k++)); do
        wait_http "${pports[k]}" "${ppids[k]}" "$name pipeline $((k + 1))" "${nsx[@]}"
    done
    wait "$probe" || { echo "controllers: $name: the probe failed" >&2; exit 1; }
    line=$(cat "$tmp/$name.probe")
    kill "$dist" 2>/dev/null || true; wait "$dist" 2>/dev/null || true
    bg=()
    stop "${ppids[@]}"
    stop "${spids[@]}"
    netns_down
    cp "$sched" "$out/logs/$name.sched"
    echo "$name $line" >>"$out/raw.txt"
    local fair="-" smax over=""
    if [ "$npipes" -gt 1 ]; then fair=$(kv "$line" fairness); fi
    smax=$(kv "$line" settled_max_depth)
    if [ "$smax" -gt "$HWM" ]; then over=" **over**"; fi
    rows+=("| $sc | $pol | $(kv "$line" efficiency) | $(kv "$line" window_p50_ms) / $(kv "$line" window_p99_ms) | $(kv "$line" changes_per_min) | $(kv "$line" retries) | $smax / $HWM$over | $fair |")
    echo "controllers: $name done ($(kv "$line" efficiency) eff, p99 $(kv "$line" window_p99_ms) ms)" >&2
}

rows=()
load0=$(cut -d' ' -f1-3 /proc/loadavg) t_start=$(date -u +%FT%TZ) s_start=$(date +%s)
for sc in $scenarios; do
    for pol in $policies; do
        run_cell "$sc" "$pol"
    done
done
{
    echo "C = $C rows/s per store, queue capacity 10000 (high watermark $HWM), shipped defaults otherwise;"
    echo "$warm s warm-up, then $secs s measured per cell; $t_start .. $(date -u +%FT%TZ) ($(( $(date +%s) - s_start )) s),"
    echo "load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) cores)"
    echo
    echo "| scenario | policy | efficiency | receipt->commit p50 / p99 ms | level changes /min | retry acks | max queue after 2 s / high watermark | fairness |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
