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
