#!/bin/bash
# netns_faults.sh: md-pipeline and md-store in two network namespaces joined by
# one veth pair on a private subnet (10.214.0.0/24, exists only inside them):
#
#   netns mdf-fs-PID  10.214.0.1  md-store (SQLite sink; ROUTER/XPUB on eth0)
#   netns mdf-fp-PID  10.214.0.2  md-pipeline (connects to 10.214.0.1)
#
# Faults, in order, under load: 5 % random packet loss in both directions for
# 20 s (nft `numgen random mod 100 < 5 drop` on eth0, or iptables -m statistic
# when nft is missing: this kernel has no netem), a bandwidth cap (tc tbf,
# 1 mbit each way) for 8 s, then a 3 s partition (eth0 down).  Asserts: acks
# keep coming during loss and the cap; the pipeline goes failsafe during the
# partition; after it, OK again and the rows keep growing; after POST
# /control/pause and the last acks, rows == mdp_bars_ingested_total (zero
# loss); SIGTERM stops both with exit 0.  Each HTTP endpoint listens on the
# namespace's own loopback (read with `ip netns exec ... curl`).  Namespace
# names carry the PID, so parallel runs do not collide.  Bounded to 100 s;
# the EXIT trap stops every process by PID and deletes both namespaces.
# Needs root, ip netns, nft or iptables, tc, curl, sqlite3: exits 77 otherwise.
set -u
BUILD=${MDF_BUILD_ROOT:?MDF_BUILD_ROOT not set}
STORE_BIN=$BUILD/store/md-store
PIPE_BIN=$BUILD/pipeline/md-pipeline
NS_S=mdf-fs-$$ NS_P=mdf-fp-$$
NET=10.214.0

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
log() { echo "[$(date +%T)] $*"; }

[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
for t in ip tc curl sqlite3; do command -v $t >/dev/null 2>&1 || skip "$t not installed"; done
[ -x "$STORE_BIN" ] && [ -x "$PIPE_BIN" ] || skip "md-store / md-pipeline not built in $BUILD"
ip netns add "$NS_S" 2>/dev/null || skip "ip netns unavailable here"
ip netns add "$NS_P" || { ip netns del "$NS_S"; skip "ip netns unavailable here"; }

TMP=$(mktemp -d /tmp/mdf-faults.XXXXXX)
STORE_PID="" PIPE_PID=""
DEADLINE=$((SECONDS + 100))

stop_pid() { # stop_pid PID: SIGCONT+SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1 i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    wait "$pid" 2>/dev/null
}
cleanup() {
    local rc=$?
    trap "" INT TERM
    trap - EXIT
    stop_pid "$PIPE_PID"
    stop_pid "$STORE_PID"
    ip netns del "$NS_S" 2>/dev/null
    ip netns del "$NS_P" 2>/dev/null
    if [ "$rc" != 0 ]; then
        for f in store.log pipeline.log; do
            [ -f "$TMP/$f" ] && { echo "---- last lines of $f"; tail -n 25 "$TMP/$f"; }
        done
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

left() { [ "$SECONDS" -lt "$DEADLINE" ]; }
wait_for() { # wait_for WHAT TIMEOUT_S CMD...
    local what=$1 end=$((SECONDS + $2)); shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] && left || fail "timed out waiting for $what"
        sleep 0.1
    done
    log "ok: $what"
}
metric() { # metric NS PORT SERIES: value of one series (exact name{labels} or bare name)
    ip netns exec "$1" curl -fsS --max-time 2 "http://127.0.0.1:$2/metrics" |
        awk -v m="$3" '$1 == m { print $NF; f = 1 } END { if (!f) exit 1 }'
}
pmetric() { metric "$NS_P" 9102 "$1"; }
acked() { pmetric 'mdp_bars_acked_total{provider="syn"}'; }
acked_ge() { local a; a=$(acked) && [ "${a%.*}" -ge "$1" ]; }
state_is() { # state_is LEVEL SCALE
    [ "$(pmetric 'pipeline_backpressure_state{provider="syn"}')" = "$1" ] &&
        [ "$(pmetric 'pipeline_rate_scale_factor{provider="syn"}')" = "$2" ]
}
rows() { sqlite3 "$TMP/bars.db" "PRAGMA busy_timeout=5000; SELECT count(*) FROM bars" | tail -1; }
alive() { kill -0 "$STORE_PID" 2>/dev/null || fail "md-store exited"; kill -0 "$PIPE_PID" 2>/dev/null || fail "md-pipeline exited"; }

# ------------------------------------------------------------ network
ip -n "$NS_S" link set lo up && ip -n "$NS_P" link set lo up
ip -n "$NS_S" link add eth0 type veth peer name eth0 netns "$NS_P" || fail "cannot create the veth pair"
ip -n "$NS_S" addr add "$NET.1/24" dev eth0 && ip -n "$NS_P" addr add "$NET.2/24" dev eth0
ip -n "$NS_S" link set eth0 up && ip -n "$NS_P" link set eth0 up
DROPPER=""
if ip netns exec "$NS_S" nft add table inet mdf_faults 2>/dev/null; then
    DROPPER=nft
    ip netns exec "$NS_S" nft delete table inet mdf_faults
elif ip netns exec "$NS_S" iptables -L -n >/dev/null 2>&1; then
    DROPPER=iptables
else
    skip "neither nft nor iptables works in a network namespace"
fi
log "namespaces $NS_S / $NS_P on $NET.0/24, packet loss with $DROPPER"

loss_on() { # 5 % of incoming packets on eth0 dropped, in both namespaces
    local ns
    for ns in "$NS_S" "$NS_P"; do
        if [ "$DROPPER" = nft ]; then
            ip netns exec "$ns" nft -f - <<NFT || fail "nft rule in $ns"
table inet mdf_faults {
    chain input { type filter hook input priority 0; policy accept;
        iifname "eth0" numgen random mod 100 < 5 drop; }
}
NFT
        else
            ip netns exec "$ns" iptables -A INPUT -i eth0 -m statistic --mode random --probability 0.05 -j DROP ||
                fail "iptables rule in $ns"
        fi
    done
}
loss_off() {
    local ns
    for ns in "$NS_S" "$NS_P"; do
        if [ "$DROPPER" = nft ]; then ip netns exec "$ns" nft delete table inet mdf_faults
        else ip netns exec "$ns" iptables -D INPUT -i eth0 -m statistic --mode random --probability 0.05 -j DROP; fi
    done
}

# ------------------------------------------------------------ services
cat > "$TMP/store.toml" <<EOF2
[store]
id = "store-ns"
[ingest]
endpoint = "tcp://$NET.1:5555"
[feedback]
endpoint = "tcp://$NET.1:5556"
heartbeat_ms = 200
[sink]
type = "sqlite"
path = "$TMP/bars.db"
[http]
listen = "127.0.0.1:9101"
EOF2
cat > "$TMP/pipeline.toml" <<EOF2
[pipeline]
id = "pipeline-ns"
[store]
ingest = ["tcp://$NET.1:5555"]
feedback = ["tcp://$NET.1:5556"]
batch_max = 500
max_inflight = 8
ack_timeout_ms = 2000
[feedback]
stale_after_ms = 1000
failsafe = "soft"
[http]
listen = "127.0.0.1:9102"
[[providers]]
name = "syn"
type = "synthetic"
capacity = 1000
refill_rate = 5000
symbols = ["AAA", "BBB", "CCC"]
seed = 7
EOF2
UNSET=$(env | sed -n 's/^\(MD[SP]_[A-Za-z0-9_]*\)=.*/-u \1/p')
# shellcheck disable=SC2086
env $UNSET ip netns exec "$NS_S" "$STORE_BIN" --config "$TMP/store.toml" >"$TMP/store.log" 2>&1 &
STORE_PID=$!
wait_for "store /health" 10 ip netns exec "$NS_S" curl -fsS --max-time 1 http://127.0.0.1:9101/health
# shellcheck disable=SC2086
env $UNSET ip netns exec "$NS_P" "$PIPE_BIN" --config "$TMP/pipeline.toml" >"$TMP/pipeline.log" 2>&1 &
PIPE_PID=$!
wait_for "pipeline OK at scale 1 across the veth" 10 state_is 0 1
wait_for "2000 bars acked" 10 acked_ge 2000

# ------------------------------------------------------------ 5 % loss, 20 s
loss_on
A0=$(acked); log "5 % loss on for 20 s (acked $A0)"
end=$((SECONDS + 20))
while [ "$SECONDS" -lt "$end" ]; do alive; sleep 1; done
A1=$(acked); loss_off
log "loss off: acked $A0 -> $A1 during the loss"
[ "${A1%.*}" -gt "${A0%.*}" ] || fail "no bar acked during 5 % loss"

# ------------------------------------------------------------ bandwidth cap, 8 s
for ns in "$NS_S" "$NS_P"; do
    ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms || fail "tc tbf in $ns"
done
end=$((SECONDS + 8))
while [ "$SECONDS" -lt "$end" ]; do alive; sleep 1; done
A2=$(acked)
for ns in "$NS_S" "$NS_P"; do ip netns exec "$ns" tc qdisc del dev eth0 root; done
log "tbf 1mbit off: acked $A1 -> $A2 under the cap"
[ "${A2%.*}" -gt "${A1%.*}" ] || fail "no bar acked under the bandwidth cap"

# ------------------------------------------------------------ partition, 3 s
wait_for "pipeline OK again before the partition" 15 state_is 0 1
ip -n "$NS_S" link set eth0 down
T0=$SECONDS
wait_for "pipeline failsafe (soft, 0.5) during the partition" 3 state_is 1 0.5
while [ $((SECONDS - T0)) -lt 3 ]; do alive; sleep 0.2; done
ip -n "$NS_S" link set eth0 up
R0=$(rows); A3=$(acked)
log "partition over (rows $R0, acked $A3)"
wait_for "pipeline OK after the partition" 20 state_is 0 1
wait_for "acks resume after the partition" 20 acked_ge $(( ${A3%.*} + 5000 ))
R1=$(rows)
[ "$R1" -gt "$R0" ] || fail "rows did not grow after the partition ($R0 -> $R1)"

# ------------------------------------------------------------ drain, count, stop
ip netns exec "$NS_P" curl -fsS --max-time 2 -X POST http://127.0.0.1:9102/control/pause >/dev/null || fail "POST /control/pause"
drained() {
    local inflight ing ack
    inflight=$(pmetric mdp_batches_inflight) && ing=$(pmetric 'mdp_bars_ingested_total{provider="syn"}') &&
        ack=$(acked) && [ "$inflight" = 0 ] && [ "$ing" = "$ack" ]
}
wait_for "paused and drained (inflight 0, acked == ingested)" 30 drained
ING=$(pmetric 'mdp_bars_ingested_total{provider="syn"}')
ROWS=$(rows)
log "ingested $ING, rows $ROWS"
[ "$ROWS" = "${ING%.*}" ] || fail "rows $ROWS != bars produced $ING"
kill -TERM "$PIPE_PID"; wait "$PIPE_PID"; rc=$?; PIPE_PID=""
[ "$rc" = 0 ] || fail "md-pipeline exited $rc after SIGTERM"
kill -TERM "$STORE_PID"; wait "$STORE_PID"; rc=$?; STORE_PID=""
[ "$rc" = 0 ] || fail "md-store exited $rc after SIGTERM"
grep -qE "Sanitizer|runtime error:" "$TMP/store.log" "$TMP/pipeline.log" && fail "sanitizer report in a service's log"
log "PASS in $SECONDS s"
