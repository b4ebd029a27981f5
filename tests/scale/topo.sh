# shellcheck shell=bash
# tests/scale/topo.sh: a multi-host mdflow topology in network namespaces,
# sourced by tests/scale/scale_netns.sh and bench/scale/run.sh (bash).
#
#   netns mdf-sc-hub-TAG              bridge br0, nothing else (the "network")
#   netns mdf-sc-dns-TAG   NET.2      dnsmasq: answers DNS_NAME from an
#                                     addn-hosts file that dns_set rewrites
#   netns mdf-sc-sK-TAG    NET.(10+K) md-store K (ROUTER :5555, XPUB :5557)
#   netns mdf-sc-pK-TAG    NET.(20+K) md-pipeline K, [store] discover = DNS_NAME
#
# Each host namespace has eth0 (a veth whose peer is on br0 in the hub) and
# lo; each service's HTTP listens on its namespace's 127.0.0.1 (read with
# `ip netns exec`, or by tests/scale/scale_probe which enters the namespace).
# NET = 10.216.(TAG % 256): the subnet exists only inside these namespaces
# and TAG (the caller's PID) is in every namespace name, so parallel runs and
# the other namespace tests (10.213.0.0/24, 10.214.0.0/24) do not collide.
# The pipelines' namespaces get /etc/netns/NS/resolv.conf naming dnsmasq,
# which `ip netns exec` bind-mounts over /etc/resolv.conf.
#
# dnsmasq runs with no config file, no /etc/hosts, no upstream (--no-resolv,
# and --local for the test domain, so a name it does not hold is NXDOMAIN),
# no negative caching, TTL 0, bound to NET.2 only; dns_set writes the hosts
# file and sends SIGHUP, which makes it re-read the file at once.
#
# A store may sit behind tests/scale/scale_relay (store_start ... relay): the
# store then publishes on its namespace's 127.0.0.1:5556 and the relay
# forwards it on NET.x:5557, where the pipelines expect every store's feedback
# ([store] discover_feedback_port = 5557).
#
# The caller sets BUILD (meson build dir) and TMP (a private directory), then
# calls topo_check (exits 77 with the reason when the machine cannot run it),
# topo_up, and arranges for topo_down to run on exit.  Every process is
# started in the background and remembered by its PID; topo_down stops each
# by PID (SIGTERM, then SIGKILL after 10 s), deletes the namespaces and the
# /etc/netns/NS directories.

TAG=${TAG:-$$}
NET=10.216.$((TAG % 256))
DNS_NAME=stores.mdflow.test
NS_PREFIX=mdf-sc
STORE_BIN=$BUILD/store/md-store
PIPE_BIN=$BUILD/pipeline/md-pipeline
PROBE_BIN=$BUILD/tests/scale/scale_probe
RELAY_BIN=$BUILD/tests/scale/scale_relay

declare -A NS_OF IP_OF PID_OF
PIDS_ORDER=()  # "role" in start order; stopped in reverse
NS_MADE=()
PROBE_PID=""

TOPO_AWK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/analyze.awk

log() { echo "[$(date +%T.%3N)] $*"; }
wall() { date +%s.%N | cut -c1-14; }
# sample MODE [-v name=value ...]: tests/scale/analyze.awk over the samples so far
sample() { local m=$1; shift; awk -f "$TOPO_AWK" -v mode="$m" "$@" "$TMP/samples"; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a + b }'; }

topo_check() {
    [ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
    local t
    for t in ip curl sqlite3 dnsmasq awk; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed (dnsmasq: apt-get install dnsmasq-base)"
    done
    for t in "$STORE_BIN" "$PIPE_BIN" "$PROBE_BIN" "$RELAY_BIN"; do
        [ -x "$t" ] || skip "$t not built"
    done
    local probe=$NS_PREFIX-chk-$TAG
    ip netns add "$probe" 2>/dev/null || skip "ip netns unavailable here"
    ip netns del "$probe"
    [ -f /etc/resolv.conf ] || skip "/etc/resolv.conf missing (ip netns exec binds resolv.conf over it)"
}

ns_of() { echo "$NS_PREFIX-$1-$TAG"; }

# topo_host ROLE OCTET: a namespace joined to br0 with NET.OCTET on eth0.
topo_host() {
    local role=$1 ns; ns=$(ns_of "$1")
    ip netns add "$ns" || fail "ip netns add $ns"
    NS_MADE+=("$ns")
    NS_OF[$role]=$ns
    IP_OF[$role]=$NET.$2
    ip -n "$ns" link set lo up
    ip -n "$(ns_of hub)" link add "v-$role" type veth peer name eth0 netns "$ns" || fail "veth for $role"
    ip -n "$(ns_of hub)" link set "v-$role" master br0 up
    ip -n "$ns" addr add "$NET.$2/24" dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "/etc/netns/$ns"
    printf 'nameserver %s.2\noptions timeout:1 attempts:2\n' "$NET" >"/etc/netns/$ns/resolv.conf"
}

# topo_up: the hub with its bridge, the DNS host and dnsmasq (answering no store yet).
topo_up() {
    local hub; hub=$(ns_of hub)
    ip netns add "$hub" || fail "ip netns add $hub"
    NS_MADE+=("$hub")
    ip -n "$hub" link set lo up
    ip -n "$hub" link add br0 type bridge || fail "cannot create a bridge"
    ip -n "$hub" link set br0 up
    topo_host dns 2
    : >"$TMP/hosts"
    ip netns exec "${NS_OF[dns]}" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts \
        --no-resolv --local="/${DNS_NAME#*.}/" --addn-hosts="$TMP/hosts" --no-negcache --local-ttl=0 \
        --bind-interfaces --listen-address="$NET.2" --user=root --pid-file= \
        --log-facility="$TMP/dnsmasq.log" >"$TMP/dnsmasq.out" 2>&1 &
    PID_OF[dns]=$!
    PIDS_ORDER+=(dns)
    sleep 0.3
    kill -0 "${PID_OF[dns]}" 2>/dev/null || fail "dnsmasq did not start: $(cat "$TMP/dnsmasq.out" "$TMP/dnsmasq.log" 2>/dev/null)"
    log "topology on $NET.0/24 (namespaces $NS_PREFIX-*-$TAG), dnsmasq answers $DNS_NAME"
}

# dns_set ROLE...: DNS_NAME now resolves to exactly these hosts' addresses.
dns_set() {
    local role
    : >"$TMP/hosts.new"
    for role in "$@"; do printf '%s %s\n' "${IP_OF[$role]}" "$DNS_NAME" >>"$TMP/hosts.new"; done
    mv "$TMP/hosts.new" "$TMP/hosts"
    kill -HUP "${PID_OF[dns]}" || fail "dnsmasq is gone"
    event "dns ${*:-(none)}"
}

# resolve ROLE: the addresses DNS_NAME has, as seen from ROLE's namespace.
resolve() { ip netns exec "${NS_OF[$1]}" getent ahostsv4 "$DNS_NAME" | awk '{print $1}' | sort -u | tr '\n' ' '; }

# event TEXT: a line "WALL TEXT" in $TMP/events (the analysis reads the times).
event() { echo "$(wall) $*" >>"$TMP/events"; log "$*"; }
event_time() { awk -v e="$1" 'substr($0, index($0, " ") + 1) == e { t = $1 } END { print t }' "$TMP/events"; }

UNSET=$(env | sed -n 's/^\(MD[SP]_[A-Za-z0-9_]*\)=.*/-u \1/p')

# start ROLE LOGNAME CMD...: CMD in ROLE's namespace, in the background.
start_in() {
    local role=$1 name=$2; shift 2
    # shellcheck disable=SC2086
    env $UNSET ip netns exec "${NS_OF[$role]}" "$@" >"$TMP/$name.log" 2>&1 &
    PID_OF[$name]=$!
    PIDS_ORDER+=("$name")
}

# metric ROLE PORT SERIES: the sum of every sample of SERIES (exact, or a bare name).
metric() {
    ip netns exec "${NS_OF[$1]}" curl -fsS --max-time 2 "http://127.0.0.1:$2/metrics" |
        awk -v m="$3" '$1 == m || index($1, m "{") == 1 { s += $NF; f = 1 } END { if (!f) exit 1; printf "%.0f\n", s }'
}
smetric() { metric "$1" 9101 "$2"; }
pmetric() { metric "$1" 9102 "$2"; }

# store_start ROLE OCTET ID ROWS_PER_S [relay]: md-store with a throttled SQLite sink.
store_start() {
    local role=$1 id=$3 rows=$4 relay=${5:-} fb
    topo_host "$role" "$2"
    fb="tcp://${IP_OF[$role]}:5557"
    [ -n "$relay" ] && fb="tcp://127.0.0.1:5556"
    cat >"$TMP/$role.toml" <<EOF
[store]
id = "$id"
[ingest]
endpoint = "tcp://${IP_OF[$role]}:5555"
[feedback]
endpoint = "$fb"
heartbeat_ms = ${HEARTBEAT_MS:-1000}
report_ms = 100
[sink]
type = "sqlite"
path = "$TMP/$role.db"
max_rows_per_sec = $rows
[http]
listen = "127.0.0.1:9101"
EOF
    start_in "$role" "$role" "$STORE_BIN" --config "$TMP/$role.toml"
    if [ -n "$relay" ]; then
        start_in "$role" "$role-relay" "$RELAY_BIN" --upstream tcp://127.0.0.1:5556 \
            --bind "tcp://${IP_OF[$role]}:5557"
    fi
    wait_for "$role ($id) /health" 10 ip netns exec "${NS_OF[$role]}" curl -fsS --max-time 1 http://127.0.0.1:9101/health
    probe_add "$role" store
}

# pipe_start ROLE OCTET ID PROVIDER RATE: md-pipeline discovering the stores.
pipe_start() {
    local role=$1 id=$3 prov=$4 rate=$5
    topo_host "$role" "$2"
    cat >"$TMP/$role.toml" <<EOF
[pipeline]
id = "$id"
[store]
discover = "$DNS_NAME"
discover_ingest_port = 5555
discover_feedback_port = 5557
discover_interval_ms = ${DISCOVER_MS:-500}
batch_max = 500
max_inflight = 8
[feedback]
stale_after_ms = ${STALE_MS:-3000}
forget_after_ms = ${FORGET_MS:-10000}
[http]
listen = "127.0.0.1:9102"
[[providers]]
name = "$prov"
type = "synthetic"
capacity = 2000
refill_rate = $rate
symbols = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
seed = ${2}7
EOF
    start_in "$role" "$role" "$PIPE_BIN" --config "$TMP/$role.toml"
    wait_for "$role ($id) /health" 10 ip netns exec "${NS_OF[$role]}" curl -fsS --max-time 1 http://127.0.0.1:9102/health
    probe_add "$role" pipe
}

# ---------------------------------------------------------------- probe
declare -A PROBE_T
probe_write() {
    local k
    : >"$TMP/targets.new"
    for k in "${!PROBE_T[@]}"; do echo "$k ${PROBE_T[$k]}" >>"$TMP/targets.new"; done
    mv "$TMP/targets.new" "$TMP/targets"
}
probe_add() { # probe_add ROLE KIND
    local port=9101
    [ "$2" = pipe ] && port=9102
    PROBE_T[$1]="$2 ${NS_OF[$1]} $port"
    probe_write
}
probe_del() { unset "PROBE_T[$1]"; probe_write; }
probe_start() { # probe_start INTERVAL_MS
    : >"$TMP/targets"
    : >"$TMP/samples"
    "$PROBE_BIN" --targets "$TMP/targets" --out "$TMP/samples" --interval-ms "$1" >"$TMP/probe.log" 2>&1 &
    PROBE_PID=$!
}

# ---------------------------------------------------------------- processes
# stop_pid PID: SIGCONT + SIGTERM, wait up to 10 s, then SIGKILL.  Returns the exit code.
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    fi
    wait "$pid" 2>/dev/null
}
# stop ROLE: stop that process; returns its exit code.
stop() {
    local pid=${PID_OF[$1]:-} rc
    [ -n "$pid" ] || return 0
    stop_pid "$pid"
    rc=$?
    PID_OF[$1]=""
    return $rc
}
alive() { [ -n "${PID_OF[$1]:-}" ] && kill -0 "${PID_OF[$1]}" 2>/dev/null; }
# wait_exit ROLE SECONDS: wait for that process to exit by itself (SIGKILL
# after SECONDS); returns its exit code.
wait_exit() {
    local pid=${PID_OF[$1]:-} end=$((SECONDS + $2)) rc
    [ -n "$pid" ] || return 0
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "$1 still running after $2 s: SIGKILL"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null
    rc=$?
    PID_OF[$1]=""
    return $rc
}

topo_down() {
    local i ns
    for ((i = ${#PIDS_ORDER[@]} - 1; i >= 0; i--)); do stop "${PIDS_ORDER[$i]}" || true; done
    [ -n "$PROBE_PID" ] && { stop_pid "$PROBE_PID" || true; }
    PROBE_PID=""
    for ns in "${NS_MADE[@]}"; do
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    NS_MADE=()
    PIDS_ORDER=()
    PROBE_T=()
    NS_OF=() IP_OF=() PID_OF=()
    rmdir /etc/netns 2>/dev/null || true
}

DEADLINE=${DEADLINE:-$((SECONDS + 110))}
left() { [ "$SECONDS" -lt "$DEADLINE" ]; }
# wait_for WHAT TIMEOUT_S CMD...: CMD every 0.1 s until it succeeds.
wait_for() {
    local what=$1 end=$((SECONDS + $2)); shift 2
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$end" ] || ! left; then fail "timed out waiting for $what"; fi
        sleep 0.1
    done
    log "ok: $what"
}
# union_rows DB...: distinct (provider, symbol, ts) over every database.
union_rows() {
    local sql="" i=0 db attach=""
    for db in "$@"; do
        attach+="ATTACH '$db' AS d$i; "
        [ -n "$sql" ] && sql+=" UNION "
        sql+="SELECT provider, symbol, ts FROM d$i.bars"
        i=$((i + 1))
    done
    sqlite3 :memory: "$attach SELECT count(*) FROM ($sql);"
}
