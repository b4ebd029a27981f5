#!/usr/bin/env bash
# bench/controllers/fleet.sh: a fleet of many slow pipelines on one store,
# and pipelines leaving, with the shipped defaults and nothing
# tuned: one md-store (null sink throttled to C rows/s, queue capacity
# 10,000, high watermark 8,000) and md-pipelines (synthetic provider) on
# loopback.
#
#   bench/controllers/fleet.sh [--build DIR] [--seconds S] [--warmup W]
#                              [--sink-rows C] [--out DIR]
#                              [--scenarios "f200 f500 leave"]
#
# Scenarios:
#  f200   200 pipelines x C/200 bars/s (100 at C = 20,000), all started at
#         once; W s of start-up, then S s measured;
#  f500   500 pipelines x C/500 bars/s (40 at C = 20,000), the same;
#  leave  21 pipelines each asking C; W s after the start 18 of them get
#         SIGTERM at once; the time until the store commits 0.9 C again
#         (over a trailing 0.5 s, from its mds_bars_written_total polled
#         every 50 ms), and the 3 left's rate over the next 5 s;
#  drop   4 pipelines asking 10 x C in all; W s after the start the sink's
#         throttle falls 100 x (C -> C / 100, SIGHUP); the store's queue
#         (coordinator_queue_depth, every 50 ms) in seconds of the new sink
#         rate: at the drop, its peak, and how long until it holds under
#         0.5 s (is credit sized by the watermarks enough?);
#  dns    (root: a network namespace with dnsmasq as its resolver) two
#         stores at C each on 127.0.0.2/3, one pipeline asking 20 C that
#         finds them by [store] discover; the name answers 70 addresses, 68
#         that nobody serves (10.77.0.x, unreachable) and the two stores last;
#         then NXDOMAIN for 10 s (the name removed, dnsmasq answers for its
#         domain itself); then the 70 again.  Committed / 2C in each phase.
# Measures (bench/bench_probe on the store and on the first 16 pipelines,
# every 100 ms): efficiency = committed / (C x window) (the pipelines offer C
# in all: min(C, offered) = C); level changes per minute (the store's
# "level changed" log lines in the window); retry acks over the whole run;
# the highest queue over the whole run, start-up included, against the high
# watermark, and the store's "level changed" lines to hard over the whole
# run; fairness = min / max of the 16 probed pipelines' acked bars.
# The machine's load is printed with the table: on a shared 2-core machine
# hundreds of processes compete for the cores with the store itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_TAG=fleet
# shellcheck source=bench/lib.sh
. bench/lib.sh
unset MDP_HTTP_CONTROL_TOKEN MDP_HTTP_CONTROL_TOKEN_FILE

build=build secs=30 warm=10 C=20000 out=bench/controllers/out/fleet scenarios="f200 f500 leave"
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --seconds) secs="$2"; shift 2 ;;
        --warmup) warm="$2"; shift 2 ;;
        --sink-rows) C="$2"; shift 2 ;;
        --scenarios) scenarios="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fleet: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
HWM=8000
ninja -C "$build" store/md-store pipeline/md-pipeline bench/bench_probe >/dev/null
mkdir -p "$out/logs"
out=$(cd "$out" && pwd) # absolute: dnsmasq's log path must survive its chdir
tmp=$(mktemp -d /tmp/mdflow-fleet-XXXXXX)
pids=() bg=()
cleanup () {
    for pid in "${bg[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    stop_all
    if [ -n "${dns_ns:-}" ]; then
        ip netns del "$dns_ns" 2>/dev/null || true
        rm -rf "/etc/netns/$dns_ns"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 143" TERM INT

join () { local IFS=,; echo "$*"; }

table () { # table HEADER ROW...: a markdown table, nothing without rows
    [ $# -gt 1 ] || return 0
    local head=$1
    shift
    echo "$head"
    echo "$head" | sed 's/[^|]\+/---/g'
    printf '%s\n' "$@"
    echo
}

# pipes_up NAME N RATE: N pipelines towards the store S_INGEST/S_FB, the
# first 16 on known HTTP ports (PPORTS), the others on any port; PPIDS.
pipes_up () {
    local name=$1 n=$2 rate=$3 k port
    PPIDS=() PPORTS=()
    for ((k = 1; k <= n; k++)); do
        port=0
        if ((k <= 16)); then free_port port; PPORTS+=("$port"); fi
        cat >"$tmp/$name-p$k.toml" <<EOF
[pipeline]
id = "$name-p$k"
[store]
ingest = ["tcp://127.0.0.1:$S_INGEST"]
feedback = ["tcp://127.0.0.1:$S_FB"]
[http]
listen = "127.0.0.1:$port"
[[providers]]
name = "synthetic"
type = "synthetic"
refill_rate = $rate
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOF
    done
    for ((k = 1; k <= n; k++)); do
        "$build/pipeline/md-pipeline" --config "$tmp/$name-p$k.toml" >"$out/logs/$name-p$k.log" 2>&1 &
        PPIDS+=($!); pids+=($!)
    done
}

# poll_start FILE: every 50 ms, "wall_s committed depth service_rate credit"
# of the store S_HTTP into FILE, in the background (poll_stop ends it).
poll_start () {
    (
        while :; do
            curl -fs "http://127.0.0.1:$S_HTTP/metrics" | awk -v t="$(date +%s.%N)" '
                $1 == "mds_bars_written_total" { w = $2 }
                $1 ~ /^coordinator_queue_depth($|{)/ { q = $2 }
                $1 ~ /^mds_sink_service_rate($|{)/ { r = $2 }
                $1 ~ /^mds_credit_bars($|{)/ { c = $2 }
                END { print t, w + 0, q + 0, r + 0, c + 0 }'
            sleep 0.05
        done
    ) >"$1" &
    bg=($!)
}
poll_stop () {
    kill -TERM "${bg[@]}" 2>/dev/null || true
    wait "${bg[@]}" 2>/dev/null || true
    bg=()
}

hard_lines () { grep -c 'msg="level changed" level=hard' "$1" || true; }

cpu_s () { # cpu_s PID...: user + system CPU seconds of the processes so far
    local pid sum=0 t
    for pid in "$@"; do
        t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
        sum=$((sum + t))
    done
    awk -v s="$sum" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", s / hz }'
}

rows=() leave_rows=() drop_rows=() dns_rows=()

# fleet NAME N: N pipelines sharing C
fleet () {
    local name=$1 n=$2 rate line k
    rate=$(awk -v c="$C" -v n="$n" 'BEGIN { printf "%g", c / n }')
    store_up "$name-s" null "$C"
    pipes_up "$name" "$n" "$rate"
    "$build/bench/bench_probe" --store-http "$S_HTTP" --pipeline-http "$(join "${PPORTS[@]}")" \
        --seconds $((warm + secs)) --warmup "$warm" --settle 0 --interval-ms 100 --sink-rows "$C" \
        --high-watermark "$HWM" --store-log "$out/logs/$name-s.log" --trace "$out/logs/$name.trace" \
        >"$tmp/$name.probe" &
    local probe=$!
    bg=("$probe")
    for ((k = 0; k < ${#PPORTS[@]}; k++)); do
        wait_http "${PPORTS[k]}" "${PPIDS[k]}" "$name-p$((k + 1))"
    done
    local c0p c0s t0 c1p c1s t1
    c0p=$(cpu_s "${PPIDS[@]}") c0s=$(cpu_s "$S_PID") t0=$(date +%s.%N)
    wait "$probe" || { echo "fleet: $name: the probe failed" >&2; exit 1; }
    c1p=$(cpu_s "${PPIDS[@]}") c1s=$(cpu_s "$S_PID") t1=$(date +%s.%N)
    bg=()
    line=$(cat "$tmp/$name.probe")
    local cpu
    cpu=$(awk -v a="$c0p" -v b="$c1p" -v c="$c0s" -v d="$c1s" -v t0="$t0" -v t1="$t1" -v n="$n" \
        'BEGIN { printf "%.1f / %.0f", 1000 * (b - a) / (t1 - t0) / n, 100 * (d - c) / (t1 - t0) }')
    local alive=0
    for pid in "${PPIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
    stop "${PPIDS[@]}"
    stop "$S_PID"
    echo "$name $line" >>"$out/raw.txt"
    rows+=("| $n x $rate bars/s | $(kv "$line" efficiency) | $(kv "$line" changes_per_min) | $(kv "$line" retries) | $(kv "$line" settled_max_depth) / $HWM | $(hard_lines "$out/logs/$name-s.log") | $(kv "$line" fairness) | $alive / $n | $cpu |")
    echo "fleet: $name done (efficiency $(kv "$line" efficiency))" >&2
}

# leave: 21 pipelines, 18 stop; when does the store commit 0.9 C again?
leave () {
    local name=leave n=21 k t0 t_kill reach="never" after
    store_up "$name-s" null "$C"
    pipes_up "$name" "$n" "$C"
    for ((k = 0; k < 16; k++)); do wait_http "${PPORTS[k]}" "${PPIDS[k]}" "$name-p$((k + 1))"; done
    poll_start "$tmp/$name.poll"
    sleep "$warm"
    t_kill=$(date +%s.%N)
    kill -TERM "${PPIDS[@]:3}"
    sleep 7
    poll_stop
    local rc_bad=0
    for pid in "${PPIDS[@]:3}"; do wait "$pid" || rc_bad=$((rc_bad + 1)); done
    # rate over a trailing 0.5 s at each sample; before: the last 2 s before the kill
    read -r before reach after < <(awk -v tk="$t_kill" -v c="$C" '
        { t[NR] = $1; v[NR] = $2 }
        END {
            j = 1; reach = -1
            for (i = 1; i <= NR; i++) {
                while (t[i] - t[j] > 0.5) j++
                if (t[i] - t[j] < 0.4) continue
                r = (v[i] - v[j]) / (t[i] - t[j])
                if (t[i] <= tk && t[i] > tk - 2) { bs += r; bn++ }
                if (t[i] > tk + 0.5 && reach < 0 && r >= 0.9 * c) reach = t[i] - tk
                if (t[i] > tk + 1 && t[i] <= tk + 6) { as += r; an++ }
            }
            printf "%.3f %s %.3f\n", bn ? bs / bn / c : 0, reach < 0 ? "never" : sprintf("%.2f", reach), an ? as / an / c : 0
        }' "$tmp/$name.poll")
    stop "${PPIDS[@]}"
    stop "$S_PID"
    cp "$tmp/$name.poll" "$out/logs/$name.poll"
    leave_rows+=("| 21 -> 3 pipelines, each asking C | $before | $reach s | $after | $rc_bad |")
    echo "fleet: leave done (0.9 C again $reach s after the SIGTERM)" >&2
}

# drop: the sink falls 100 x; how much queue, and for how long?
drop () {
    local name=drop n=4 k t_drop low=$((C / 100))
    store_up "$name-s" null "$C"
    pipes_up "$name" "$n" $((10 * C / n))
    for ((k = 0; k < n; k++)); do wait_http "${PPORTS[k]}" "${PPIDS[k]}" "$name-p$((k + 1))"; done
    poll_start "$tmp/$name.poll"
    sleep "$warm"
    sed -i "s/^max_rows_per_sec = .*/max_rows_per_sec = $low/" "$tmp/$name-s.toml"
    t_drop=$(date +%s.%N)
    kill -HUP "$S_PID"
    sleep 40
    poll_stop
    local at peak t_peak under
    read -r at peak t_peak under < <(awk -v td="$t_drop" -v low="$low" '
        $1 <= td { at = $3 }
        $1 > td { if ($3 > peak) { peak = $3; tp = $1 - td }
                  if ($3 >= 0.5 * low) last_over = $1 - td }
        END { printf "%.1f %.1f %.1f %.1f\n", at / low, peak / low, tp, last_over }' "$tmp/$name.poll")
    local retries
    retries=$(curl -fs "http://127.0.0.1:$S_HTTP/metrics" | awk '$1 == "mds_batches_total{status=\"retry\"}" { print $2 }')
    curl -fs "http://127.0.0.1:$S_HTTP/metrics" >"$out/logs/$name-s.metrics" || true
    for ((k = 0; k < n; k++)); do
        curl -fs "http://127.0.0.1:${PPORTS[k]}/metrics" >"$out/logs/$name-p$((k + 1)).metrics" || true
    done
    stop "${PPIDS[@]}"
    stop "$S_PID"
    cp "$tmp/$name.poll" "$out/logs/$name.poll"
    drop_rows+=("| $C -> $low rows/s | $at s | $peak s, $t_peak s after | $under s | ${retries:-?} |")
    echo "fleet: drop done (peak $peak s of sink time)" >&2
}

# dns: 70 addresses with the stores last, then NXDOMAIN for 10 s
dns_ns=""
dns () {
    if [ "$(id -u)" != 0 ] || ! command -v dnsmasq >/dev/null; then
        echo "fleet: dns needs root and dnsmasq: skipped" >&2
        return 0
    fi
    dns_ns="mdflow-fleet-$$"
    ip netns add "$dns_ns"
    ip -n "$dns_ns" link set lo up
    mkdir -p "/etc/netns/$dns_ns"
    printf '127.0.0.1 localhost\n' >"/etc/netns/$dns_ns/hosts"
    printf 'nameserver 127.0.0.1\noptions edns0 attempts:1 timeout:1\n' >"/etc/netns/$dns_ns/resolv.conf"
    local hosts="$tmp/dns.hosts" nsx=(ip netns exec "$dns_ns") k
    dns_answer () {
        : >"$hosts.new"
        for ((k = 1; k <= 68; k++)); do echo "10.77.0.$k stores.fleet-bench" >>"$hosts.new"; done
        echo "127.0.0.2 stores.fleet-bench" >>"$hosts.new"
        echo "127.0.0.3 stores.fleet-bench" >>"$hosts.new"
        mv "$hosts.new" "$hosts"
    }
    dns_answer
    "${nsx[@]}" dnsmasq --keep-in-foreground --user=root --no-resolv --no-hosts --addn-hosts="$hosts" \
        --local=/fleet-bench/ --listen-address=127.0.0.1 --bind-interfaces --port=53 \
        --no-negcache --local-ttl=0 --log-facility="$out/logs/dns-dnsmasq.log" &
    local dpid=$!
    pids+=("$dpid")
    local sp=() sh=() port
    for k in 1 2; do
        free_port port
        sh+=("$port")
        cat >"$tmp/dns-s$k.toml" <<EOF
[store]
id = "dns-s$k"
[ingest]
endpoint = "tcp://127.0.0.$((k + 1)):5555"
[feedback]
endpoint = "tcp://127.0.0.$((k + 1)):5556"
[sink]
type = "null"
max_rows_per_sec = $C
[http]
listen = "127.0.0.1:$port"
EOF
        "${nsx[@]}" "$build/store/md-store" --config "$tmp/dns-s$k.toml" >"$out/logs/dns-s$k.log" 2>&1 &
        sp+=($!)
        pids+=($!)
    done
    local ph
    free_port ph
    cat >"$tmp/dns-p1.toml" <<EOF
[pipeline]
id = "dns-p1"
[store]
discover = "stores.fleet-bench"
[http]
listen = "127.0.0.1:$ph"
[[providers]]
name = "synthetic"
type = "synthetic"
refill_rate = $((20 * C))
symbols = ["AAPL", "MSFT", "GOOG", "AMZN"]
EOF
    for k in 0 1; do wait_http "${sh[k]}" "${sp[k]}" "dns-s$((k + 1))" "${nsx[@]}"; done
    "${nsx[@]}" "$build/pipeline/md-pipeline" --config "$tmp/dns-p1.toml" >"$out/logs/dns-p1.log" 2>&1 &
    local pp=$!
    pids+=("$pp")
    wait_http "$ph" "$pp" dns-p1 "${nsx[@]}"
    metric_in () { # metric_in PORT SERIES: one series' value, from inside the namespace
        "${nsx[@]}" curl -fs "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 + 0 }'
    }
    committed () {
        echo $(($(metric_in "${sh[0]}" mds_bars_written_total) + $(metric_in "${sh[1]}" mds_bars_written_total)))
    }
    phase () { # phase SECONDS: committed / 2C over it
        local a b t0 t1
        a=$(committed) t0=$(date +%s.%N)
        sleep "$1"
        b=$(committed) t1=$(date +%s.%N)
        awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v c="$C" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) / (2 * c) }'
    }
    sleep "$warm"
    local p70 pnx pback seen nx unl
    p70=$(phase 10)
    seen=$(metric_in "$ph" mdp_discovery_stores)
    : >"$hosts.new"
    mv "$hosts.new" "$hosts"
    kill -HUP "$dpid"
    sleep 1 # the next lookup (every 0.5 s) gets NXDOMAIN
    pnx=$(phase 10)
    nx=$(metric_in "$ph" 'mdp_discovery_lookups_total{result="nxdomain"}')
    unl=$(metric_in "$ph" mdp_stores_unlisted)
    dns_answer
    kill -HUP "$dpid"
    sleep 1
    pback=$(phase 5)
    stop "$pp"
    stop "${sp[@]}"
    stop "$dpid"
    ip netns del "$dns_ns" 2>/dev/null || true
    rm -rf "/etc/netns/$dns_ns"
    dns_ns=""
    dns_rows+=("| 2 stores at C, 1 pipeline asking 20 C | $p70 ($seen addresses) | $pnx (${nx:-?} NXDOMAIN answers, ${unl:-?} stores kept unlisted) | $pback |")
    echo "fleet: dns done" >&2
}

: >"$out/raw.txt"
load0=$(cut -d' ' -f1-3 /proc/loadavg) t_start=$(date -u +%FT%TZ) s_start=$(date +%s)
for sc in $scenarios; do
    case "$sc" in
        f200) fleet f200 200 ;;
        f500) fleet f500 500 ;;
        f[0-9]*) fleet "$sc" "${sc#f}" ;;
        leave) leave ;;
        drop) drop ;;
        dns) dns ;;
        *) echo "fleet: unknown scenario $sc" >&2; exit 2 ;;
    esac
done
{
    echo "C = $C rows/s (null sink), queue capacity 10000 (high watermark $HWM), shipped defaults otherwise;"
    echo "$warm s start-up, then $secs s measured; $t_start .. $(date -u +%FT%TZ) ($(( $(date +%s) - s_start )) s),"
    echo "load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) cores)"
    echo
    table "| pipelines | efficiency | level changes /min | retry acks | max queue (start included) / high watermark | level changes to hard | fairness (16 probed) | pipelines alive at the end | CPU: ms/s per pipeline / store % |" "${rows[@]}"
    table "| discovery | committed / 2C: 70 addresses, the stores last | NXDOMAIN for 10 s | the 70 again |" "${dns_rows[@]}"
    table "| sink capacity drop | queue at the drop, in s of the new rate | its peak | under 0.5 s of the new rate for good after | retry acks |" "${drop_rows[@]}"
    table "| scenario | committed / C, 2 s before | 0.9 C again after the SIGTERM | committed / C, 1..6 s after | pipelines that exited non-zero |" "${leave_rows[@]}"
} | tee "$out/results.md"
