#!/bin/bash
# scale_netns.sh: elastic scale-out and scale-in of md-store on a real
# multi-host topology (network namespaces on a bridge, real DNS from dnsmasq;
# tests/scale/topo.sh draws it), under a demand the stores cannot meet.
#
#   stores s1..s5: md-store, SQLite sink throttled to C = 4000 rows/s each;
#                  s1's feedback goes through tests/scale/scale_relay
#   pipes p1, p2:  md-pipeline, [store] discover = "stores.mdflow.test",
#                  a synthetic provider each asking 5 x C (10 x C in total)
#
# The phases, each asserted from scale_probe's samples (every 100 ms, every
# service's /metrics), committed throughput meaning the sum over the stores
# of the rate of mds_bars_written_total over a trailing 2 s window:
#  1. scale-out: only s1 in DNS; the pipelines run; s2 and s3 (running
#     already) are added to DNS: committed >= 0.95 x 3C within 10 s.
#  2. scale-in: SIGTERM s3 (it drains, publishes `shutdown`, exits 0) and
#     drop it from DNS: committed >= 0.95 x 2C within 5 s (windows wholly
#     after the SIGTERM).
#  3. replacement: s4 (new id, new address) joins; then s2 is killed (-9, and
#     its link taken down: a crashed host that says nothing) while its
#     address stays in DNS for 13 s, and s5 (new id, new address) joins in
#     its place.  No pipeline stays at mdp_feedback_failsafe = 1 longer than
#     forget_after_ms (10 s) at any time of the run.
#  4. poisoning: the relay injects into s1's feedback one event with epoch
#     2^62, one with seq 2^64-1, one from another coordinator_id with an
#     older epoch and one from it with a newer epoch (each claiming hard,
#     queue full).  Each pipeline counts them as implausible, a resync,
#     foreign and a restart; it goes back to store-1 once the forged
#     incarnation stays silent, and both that and its scale's return to the
#     band of the 5 s before (0.5 s means, min..max +- 0.02) come no later
#     than stale_after_ms + one tick of the listener (+ 0.25 s of delivery
#     and scheduling) after the injection: the forged incarnation is dropped
#     at the first tick after it has been silent for stale_after_ms.
# Exactness: POST /control/pause on both pipelines, wait for
# mdp_batches_inflight 0 and acked == ingested; stop everything (exit 0,
# except s2, killed); the distinct (provider, symbol, ts) over every SQLite
# file == the sum of mdp_bars_acked_total == the sum of
# mdp_bars_ingested_total.
#
# Needs root, ip netns, dnsmasq, curl, sqlite3: exits 77 with the reason
# otherwise.  Bounded to 115 s; the EXIT trap stops every process by PID and
# deletes the namespaces and /etc/netns/NS.  MDF_SCALE_KEEP=DIR keeps the
# samples, events and logs in DIR.
set -u
BUILD=${MDF_BUILD_ROOT:?MDF_BUILD_ROOT not set}
SRC=${MDF_SOURCE_ROOT:?MDF_SOURCE_ROOT not set}
HERE=$SRC/tests/scale
C=${MDF_SCALE_C:-4000}
STALE_MS=3000 FORGET_MS=10000 DISCOVER_MS=500 HEARTBEAT_MS=1000

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
DEADLINE=$((SECONDS + 115))
# shellcheck source=tests/scale/topo.sh
. "$HERE/topo.sh"
topo_check

TMP=$(mktemp -d /tmp/mdf-scale.XXXXXX)
chmod 755 "$TMP"
cleanup() {
    local rc=$?
    trap "" INT TERM
    trap - EXIT
    topo_down
    if [ "$rc" != 0 ]; then
        for f in p1 p2 s1 s1-relay s2 s3 s4 s5 dnsmasq; do
            [ -f "$TMP/$f.log" ] && { echo "---- last lines of $f.log"; tail -n 15 "$TMP/$f.log"; }
        done
    fi
    if [ -n "${MDF_SCALE_KEEP:-}" ]; then
        mkdir -p "$MDF_SCALE_KEEP" && cp -r "$TMP"/. "$MDF_SCALE_KEEP"/ && echo "kept in $MDF_SCALE_KEEP"
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

check_alive() { local r; for r in "$@"; do alive "$r" || fail "$r exited"; done; }
# hold SECONDS ROLE...: wait, failing at once if one of the processes exits.
hold() {
    local end=$((SECONDS + $1)); shift
    while [ "$SECONDS" -lt "$end" ]; do check_alive "$@"; left || fail "out of time"; sleep 0.2; done
}
# both pipelines see N live stores
live_is() { [ "$(pmetric p1 'mdp_stores{state="live"}')" = "$1" ] && [ "$(pmetric p2 'mdp_stores{state="live"}')" = "$1" ]; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "none" && a + 0 <= b + 0) }'; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

topo_up
probe_start 100
store_start s1 11 store-1 "$C" relay
store_start s2 12 store-2 "$C"
store_start s3 13 store-3 "$C"
dns_set s1
pipe_start p1 21 pipe-1 p1 $((5 * C))
pipe_start p2 22 pipe-2 p2 $((5 * C))
[ "$(resolve p1)" = "${IP_OF[s1]} " ] || fail "p1 resolves $DNS_NAME to '$(resolve p1)', expected ${IP_OF[s1]}"
wait_for "both pipelines with s1 live" 10 live_is 1
RUNNING=(dns s1 s1-relay s2 s3 p1 p2)
hold 6 "${RUNNING[@]}"
T=$(wall)
r=$(sample rate -v t0="$(plus "$T" -4)" -v t1="$T")
log "one store: committed $(field "$r" rate) rows/s (C = $C)"

# ------------------------------------------------------------ 1. scale-out
dns_set s1 s2 s3
TA=$(event_time "dns s1 s2 s3")
wait_for "both pipelines with 3 live stores" 8 live_is 3
hold 11 "${RUNNING[@]}"
TA1=$(plus "$TA" 12)
r=$(sample reach -v t0="$TA" -v t1="$TA1" -v target=$((3 * C * 95 / 100)) -v win=2)
log "scale-out: 0.95 x 3C reached $(field "$r" reach) s after the join (peak $(field "$r" peak), then mean $(field "$r" hold) rows/s)"
le "$(field "$r" reach)" 10 || fail "committed throughput did not reach 0.95 x 3C within 10 s of the join ($r)"

# ------------------------------------------------------------ 2. scale-in
kill -TERM "${PID_OF[s3]}"
event "sigterm s3"
TB=$(event_time "sigterm s3")
dns_set s1 s2
wait_exit s3 15
rc=$?
[ "$rc" = 0 ] || fail "s3 exited $rc after SIGTERM"
grep -q 'msg=drained' "$TMP/s3.log" || fail "s3 did not log its drain"
probe_del s3
RUNNING=(dns s1 s1-relay s2 p1 p2)
wait_for "both pipelines with 2 live stores" 8 live_is 2
hold 7 "${RUNNING[@]}"
TB1=$(plus "$TB" 8)
r=$(sample reach -v t0="$TB" -v t1="$TB1" -v target=$((2 * C * 95 / 100)) -v win=2)
log "scale-in: 0.95 x 2C at $(field "$r" reach) s after the SIGTERM (then mean $(field "$r" hold) rows/s)"
le "$(field "$r" reach)" 5 || fail "committed throughput not back to 0.95 x 2C within 5 s of the scale-in ($r)"

# ------------------------------------------------------------ 3. replacement
store_start s4 14 store-4 "$C"
dns_set s1 s2 s4
RUNNING=(dns s1 s1-relay s2 s4 p1 p2)
wait_for "both pipelines with 3 live stores (s4 joined)" 8 live_is 3
hold 4 "${RUNNING[@]}"
{ kill -KILL "${PID_OF[s2]}"; wait_exit s2 5; } 2>/dev/null # (no "Killed" job notice)
ip -n "${NS_OF[s2]}" link set eth0 down
event "sigkill s2"
probe_del s2
store_start s5 15 store-5 "$C"
dns_set s1 s2 s4 s5
RUNNING=(dns s1 s1-relay s4 s5 p1 p2)
hold 13 "${RUNNING[@]}"
dns_set s1 s4 s5
wait_for "both pipelines with 3 live stores (s2 forgotten, s5 joined)" 8 live_is 3
r=$(sample failsafe -v t0=0 -v t1="$(wall)")
log "longest failsafe stretch per pipeline: $r"
for p in p1 p2; do
    le "$(field "$r" "$p")" $((FORGET_MS / 1000)) || fail "$p stayed at failsafe longer than forget_after_ms ($r)"
done
ge "$(field "$r" total)" 1 || fail "no failsafe at all after s2 went silent: the crash was not seen ($r)"

# ------------------------------------------------------------ 4. poisoning
hold 5 "${RUNNING[@]}"
declare -A BEFORE
IGNORED='mdp_feedback_ignored_total{reason='
for p in p1 p2; do
    BEFORE[$p.implausible]=$(pmetric "$p" "$IGNORED\"implausible\"}")
    BEFORE[$p.foreign]=$(pmetric "$p" "$IGNORED\"foreign\"}")
    BEFORE[$p.resyncs]=$(pmetric "$p" mdp_feedback_resyncs_total)
    BEFORE[$p.restarts]=$(pmetric "$p" mdp_feedback_restarts_total)
done
# The forged incarnation is dropped once it has been silent for
# stale_after_ms, at the listener's next tick (50 ms; proto/README.md); 0.25 s
# for delivery and scheduling on a loaded machine.
POISON_S=$(awk -v s="$STALE_MS" 'BEGIN { print (s + 50 + 250) / 1000 }')
kill -USR1 "${PID_OF[s1-relay]}"
event "poison s1"
TD=$(event_time "poison s1")
hold 8 "${RUNNING[@]}"
grep -q '^done' "$TMP/s1-relay.log" || fail "the relay did not inject its events: $(cat "$TMP/s1-relay.log")"
# log_time ROLE PATTERN: wall time of the first log line of ROLE matching PATTERN
log_time() { date -d "$(grep -m1 -e "$2" "$TMP/$1.log" | sed -n 's/^ts=\([^ ]*\).*/\1/p')" +%s.%3N 2>/dev/null; }
for p in p1 p2; do
    d_imp=$(($(pmetric "$p" "$IGNORED\"implausible\"}") - BEFORE[$p.implausible]))
    d_for=$(($(pmetric "$p" "$IGNORED\"foreign\"}") - BEFORE[$p.foreign]))
    d_rsy=$(($(pmetric "$p" mdp_feedback_resyncs_total) - BEFORE[$p.resyncs]))
    d_rst=$(($(pmetric "$p" mdp_feedback_restarts_total) - BEFORE[$p.restarts]))
    log "$p: implausible +$d_imp, foreign +$d_for, resyncs +$d_rsy, restarts +$d_rst"
    [ "$d_imp" -ge 1 ] || fail "$p did not refuse the epoch 2^62 event as implausible"
    [ "$d_for" -ge 1 ] || fail "$p did not refuse the older foreign event"
    [ "$d_rsy" -ge 1 ] || fail "$p did not take the seq 2^64-1 event as a resync"
    [ "$d_rst" -ge 1 ] || fail "$p did not take the newer foreign event as a replacement"
    adopted=$(log_time "$p" 'msg="store restarted" coordinator=rogue-')
    back=$(log_time "$p" 'back to the previous one')
    if [ -z "$adopted" ] || [ -z "$back" ]; then
        fail "$p: no log of the forged incarnation being taken and dropped"
    fi
    held=$(plus "$back" "-$TD")
    r=$(sample scale_dev -v label="$p" -v tb0="$(plus "$TD" -5)" -v tp="$TD" -v t1="$(plus "$TD" 8)" -v band=0.02)
    log "$p held the forged incarnation ${held} s; its scale (0.5 s mean) around the poisoning: $r"
    le "$held" "$POISON_S" ||
        fail "$p held the forged incarnation $held s, longer than stale_after_ms + a tick (+ 0.25 s)"
    le "$(field "$r" out)" "$POISON_S" ||
        fail "$p's scale out of its band for longer than stale_after_ms + a tick (+ 0.25 s) after the poisoning ($r)"
done

# ------------------------------------------------------------ exactness
for p in p1 p2; do
    ip netns exec "${NS_OF[$p]}" curl -fsS --max-time 2 -X POST http://127.0.0.1:9102/control/pause >/dev/null ||
        fail "POST /control/pause on $p"
done
drained() {
    local p inflight ing ack
    for p in p1 p2; do
        inflight=$(pmetric "$p" mdp_batches_inflight) && ing=$(pmetric "$p" mdp_bars_ingested_total) &&
            ack=$(pmetric "$p" mdp_bars_acked_total) && [ "$inflight" = 0 ] && [ "$ing" = "$ack" ] || return 1
    done
}
wait_for "both pipelines paused and drained (inflight 0, acked == ingested)" 20 drained
ACKED=0 INGESTED=0
for p in p1 p2; do
    ACKED=$((ACKED + $(pmetric "$p" mdp_bars_acked_total)))
    INGESTED=$((INGESTED + $(pmetric "$p" mdp_bars_ingested_total)))
done
RETRY=$(sample total -v key=retry -v kind=store)
for r in p1 p2 s1-relay s1 s4 s5; do
    stop "$r"
    rc=$?
    [ "$rc" = 0 ] || fail "$r exited $rc after SIGTERM"
done
ROWS=$(union_rows "$TMP"/s[1-5].db)
log "acked $ACKED, ingested $INGESTED, distinct rows over the 5 databases $ROWS, retry acks $RETRY"
[ "$ROWS" = "$ACKED" ] || fail "distinct rows $ROWS != bars acked ok $ACKED"
[ "$ROWS" = "$INGESTED" ] || fail "distinct rows $ROWS != bars ingested $INGESTED"
grep -qE "Sanitizer|runtime error:" "$TMP"/*.log && fail "sanitizer report in a log"
log "PASS in $SECONDS s"
