# shellcheck shell=bash
# bench/lib.sh: shell functions the bench scripts that run the services on
# loopback share (bash; source it).  The caller keeps the PIDs it started in
# the array `pids` (its EXIT trap stops them) and may set BENCH_TAG, the name
# its messages start with (default "bench").

bench_used_ports=" "

free_port () { # free_port VAR: a TCP port below the ephemeral range that no socket
    local p       # uses and that this script has not handed out before
    while :; do
        p=$((10000 + RANDOM % 20000))
        [[ "$bench_used_ports" == *" $p "* ]] && continue
        [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
        bench_used_ports+="$p "
        printf -v "$1" '%s' "$p"
        return
    done
}

# bench_show_log NAME: the end of BENCH_LOGDIR/NAME.log on stderr, when the
# caller keeps its services' logs there (they may be gone after exit).
bench_show_log () {
    [ -n "${BENCH_LOGDIR:-}" ] && [ -r "$BENCH_LOGDIR/$1.log" ] || return 0
    echo "--- $BENCH_LOGDIR/$1.log (last 20 lines):" >&2
    tail -n 20 "$BENCH_LOGDIR/$1.log" >&2
}

# wait_http PORT PID NAME [PREFIX...]: wait (10 s at most) until GET /health
# on 127.0.0.1:PORT answers, run as PREFIX curl ... (e.g. ip netns exec NS);
# exits 1 when PID exits first or nothing answers.
wait_http () {
    local port=$1 pid=$2 name=$3
    shift 3
    for _ in $(seq 1 200); do
        "$@" curl -fs -o /dev/null "http://127.0.0.1:$port/health" && return 0
        kill -0 "$pid" 2>/dev/null || { echo "${BENCH_TAG:-bench}: $name exited" >&2; bench_show_log "$name"; exit 1; }
        sleep 0.05
    done
    echo "${BENCH_TAG:-bench}: $name did not answer on port $port" >&2
    exit 1
}

kv () { # kv "LINE" KEY: value of KEY=value in a helper's output line
    tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

stop_all () { # every PID in `pids`: SIGTERM all, then wait for each (an EXIT trap's part)
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

stop () { # stop PID...: SIGTERM, wait, forget (so cleanup never signals a reused PID)
    local pid keep=()
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do [[ " $* " == *" $pid "* ]] || keep+=("$pid"); done
    pids=("${keep[@]}")
}

scrape () { # scrape PORT NAME: sum of one metric's series
    curl -fs "http://127.0.0.1:$1/metrics" |
        awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}

# store_up NAME SINK MAX_ROWS [EXTRA_TOML]: sets S_PID S_HTTP S_INGEST S_FB S_DB.
# Needs the caller's $build (the build directory), $tmp (a scratch directory
# for configs and databases) and $out (the store's log goes to $out/logs).
store_up () {
    free_port S_INGEST; free_port S_FB; free_port S_HTTP
    S_DB="$tmp/$1.db"
    cat >"$tmp/$1.toml" <<EOF
[store]
id = "$1"
[ingest]
endpoint = "tcp://127.0.0.1:$S_INGEST"
[feedback]
endpoint = "tcp://127.0.0.1:$S_FB"
[sink]
type = "$2"
path = "$S_DB"
max_rows_per_sec = $3
[http]
listen = "127.0.0.1:$S_HTTP"
${4:-}
EOF
    "$build/store/md-store" --config "$tmp/$1.toml" >"$out/logs/$1.log" 2>&1 &
    S_PID=$!
    pids+=("$S_PID")
    wait_http "$S_HTTP" "$S_PID" "$1"
}
