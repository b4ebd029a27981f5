#!/bin/bash
# compose_netns.sh: docker/docker-compose.yml's topology, without Docker,
# with the store scaled to two replicas (`docker-compose up --scale store=2`).
#
# No container engine runs in CI, so this test builds the same topology out of
# network namespaces and runs the real binaries the way the compose file
# starts them (its entrypoint and command, or the image's, as
# `check_deploy.py --compose-plan` reads them from docker-compose.yml and the
# Dockerfile) with the very config files it mounts (docker/config/store.toml,
# pipeline.toml):
#
#   netns mdf-net       bridge br0 (the "compose network"), nothing else
#   netns mdf-store     10.213.0.2  md-store replica 1 (binds tcp://0.0.0.0:5555/5556, http :9101)
#   netns mdf-store2    10.213.0.5  md-store replica 2 (the same)
#   netns mdf-pipeline  10.213.0.3  md-pipeline ([store] discover = "store", http :9102)
#   netns mdf-pg        10.213.0.4  PostgreSQL 15 (initdb + pg_ctl as user postgres)
#
# Each namespace is joined to br0 by a veth pair created inside mdf-net (so no
# interface ever appears in the host's namespace), and gets
# /etc/netns/<name>/hosts, which `ip netns exec` mounts over /etc/hosts, so
# the names `store`, `pipeline` and `postgres` resolve as in compose: `store`
# to both replicas, as compose's DNS answers a scaled service with every
# container; when replica 2 is stopped its line is removed (rewritten in
# place, so the running processes see it), as compose's DNS forgets a removed
# container.  Each replica gets its own HOSTNAME, as Docker gives every
# container its id.
# 10.213.0.0/24 exists only inside these namespaces and is never routed.
# The database role, password and name come from store.toml's conninfo.
#
# CurveZMQ and the pipeline's control token are on in those configs, so the
# keys and the token are made as compose makes them: the one-shot `keys`
# service's command (read from docker-compose.yml by
# `check_deploy.py --compose-plan`) runs with the built mdctl, in a private
# mount namespace where a fresh tmpfs is /run and each of its named volumes (a
# directory under $TMP) is bind-mounted at its compose target.  Store replicas
# and pipeline then run the same way, with their volumes bind-mounted
# read-only where compose mounts them (both replicas share the store's
# volumes, as in compose), as uid 10001 like the images (when setpriv is
# there and uid 10001 can read the build): so the config paths, the volume
# layout, the entrypoints, the keys script and the file ownership it sets are
# all exercised.
#
# Asserts, each with a deadline: /health answers in every namespace (and the
# store's across the bridge, as Prometheus would scrape it); each replica
# has its own coordinator_id, store-<its HOSTNAME>; the pipeline finds both
# by the name `store` and both write bars to PostgreSQL (over CurveZMQ); the
# demo overload (20,000 bars/s asked, two sinks throttled to 5,000 rows/s)
# holds the pipeline's rate scale below 1 while no store refuses a batch
# (share policy: the queues stay short); the control token is in the
# pipeline's volume, uid 10001's only (0400), and kept by a second run of
# `keys`; POST /control/pause without the token (or with another one), from
# the pipeline's namespace and from a store's across the bridge, is 401 and
# does not pause it; with the token read from the volume (as deploy/README.md
# tells operators) it is 200 and the pipeline pauses; the token appears in no
# log; after that pause the pipeline has nothing in flight, every ingested bar
# is acked and the stores count those bars written (exactly, unless a batch
# was resent to the other store after an ack timeout); a client with a key
# the store does not know is refused (mds_auth_failures_total rises), and once
# its NAME.key is copied into the authorized-keys volume (deploy/README.md) it
# is let in without a restart; then, resumed, scaling down to one store
# (SIGTERM to replica 2, its name gone from DNS) drains replica 2 (exit 0),
# the pipeline drops it and goes on with replica 1, and a second pause finds
# every ingested bar acked: nothing was lost when the store left; SIGTERM
# stops the pipeline and the store with exit 0; the bars table then holds
# between 1 and that many pipeline rows (the postgres sink keeps ts to the
# microsecond, so bars closer than that collapse into one row).
# Everything started here is stopped by PID and every namespace and
# /etc/netns entry removed by the EXIT trap; the mounts live and die with
# their processes' namespaces.  Runs from several build trees take turns
# (flock, 20 s at most); the run itself is bounded to 90 s.
#
# Needs root, ip(8) with netns support, unshare(1), curl, the PostgreSQL 15
# server binaries and the built md-store / md-pipeline / mdctl: exits 77
# (skip) otherwise.
# Env: MDF_SOURCE_ROOT, MDF_BUILD_ROOT (set by meson), MDF_PG_BIN (optional).

set -u

SRC=${MDF_SOURCE_ROOT:?MDF_SOURCE_ROOT not set}
BUILD=${MDF_BUILD_ROOT:?MDF_BUILD_ROOT not set}
STORE_BIN=$BUILD/store/md-store
PIPE_BIN=$BUILD/pipeline/md-pipeline
MDCTL=$BUILD/tools/mdctl
PGBIN=${MDF_PG_BIN:-/usr/lib/postgresql/15/bin}
STORE_TOML=$SRC/docker/config/store.toml
PIPE_TOML=$SRC/docker/config/pipeline.toml
NETS="mdf-net mdf-store mdf-store2 mdf-pipeline mdf-pg"
SUBNET=10.213.0
STORE1_IP=$SUBNET.2 STORE2_IP=$SUBNET.5
# Container ids, as Docker sets HOSTNAME in each replica.
STORE1_HOST=5f3c2a1b9d01 STORE2_HOST=7a8e4d2c6b02

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
log() { echo "[$(date +%T)] $*"; }

[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null 2>&1 || skip "ip(8) not installed"
command -v curl >/dev/null 2>&1 || skip "curl not installed"
for tool in runuser flock python3 unshare mount; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -x "$STORE_BIN" ] && [ -x "$PIPE_BIN" ] && [ -x "$MDCTL" ] ||
    skip "md-store / md-pipeline / mdctl not built in $BUILD"
python3 -c 'import yaml' 2>/dev/null || skip "python3 yaml module (python3-yaml) not installed"
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] && [ -x "$PGBIN/psql" ] || skip "no PostgreSQL server binaries in $PGBIN"
getent passwd postgres >/dev/null || skip "no 'postgres' system user"
probe=mdf-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then skip "ip netns unavailable here"; fi
ip netns del "$probe"

# The namespace names are fixed: runs from several build trees take turns.
exec 9>/run/lock/mdf-compose-netns.lock || fail "cannot open the lock file"
flock -w 20 9 || fail "another compose_netns.sh run holds /run/lock/mdf-compose-netns.lock"
DEADLINE=$((SECONDS + 90))

# Database credentials from the store's own conninfo (same file as compose).
read -r PGUSER_ PGPASS_ PGDB_ PGPORT_ PGHOST_ < <(python3 - "$STORE_TOML" <<'EOF'
import sys, tomllib, urllib.parse
u = urllib.parse.urlsplit(tomllib.load(open(sys.argv[1], "rb"))["sink"]["conninfo"])
print(u.username, u.password, u.path.lstrip("/"), u.port or 5432, u.hostname)
EOF
)
[ -n "${PGDB_:-}" ] || fail "cannot read [sink] conninfo from $STORE_TOML"
[ "$PGHOST_" = postgres ] || fail "store.toml conninfo host is $PGHOST_, expected postgres"
CONNINFO="postgresql://$PGUSER_:$PGPASS_@postgres:$PGPORT_/$PGDB_?connect_timeout=3"

TMP=$(mktemp -d /tmp/mdf-netns.XXXXXX)
chmod 755 "$TMP"
STORE_PID="" STORE2_PID="" PIPE_PID="" REFUSED_PID="" PG_STARTED=0 NETNS_MADE=0

stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1 i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "  $2 ($pid) ignored SIGTERM: SIGKILL"; kill -KILL "$pid"; fi
    wait "$pid" 2>/dev/null
}

cleanup() {
    local rc=$?
    trap "" INT TERM   # finish cleaning up even if interrupted again
    trap - EXIT
    stop_pid "$REFUSED_PID" "mdctl send"
    stop_pid "$PIPE_PID" md-pipeline
    stop_pid "$STORE2_PID" "md-store (replica 2)"
    stop_pid "$STORE_PID" md-store
    if [ "$PG_STARTED" = 1 ]; then
        # pg_ctl start may still be writing postmaster.pid: wait for it briefly.
        for _ in $(seq 30); do [ -s "$TMP/pgdata/postmaster.pid" ] && break; sleep 0.1; done
        ip netns exec mdf-pg runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pgdata" -m immediate -w -t 10 stop \
            >/dev/null 2>&1 || { pid=$(head -1 "$TMP/pgdata/postmaster.pid" 2>/dev/null) && kill -KILL "$pid"; }
    fi
    if [ "$NETNS_MADE" = 1 ]; then
        for ns in $NETS; do ip netns del "$ns" 2>/dev/null; rm -rf "/etc/netns/$ns"; done
        rmdir /etc/netns 2>/dev/null
    fi
    if [ "$rc" != 0 ]; then
        for f in keys.log store.log store2.log pipeline.log pg.log refused.log admitted.log; do
            [ -f "$TMP/$f" ] && { echo "---- last lines of $f"; tail -n 25 "$TMP/$f"; }
        done
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
left() { [ "$SECONDS" -lt "$DEADLINE" ]; }

# wait_for WHAT CMD...: run CMD every 0.2 s until it succeeds or the deadline;
# a service in ALIVE ("PID:NAME ...") that has exited fails it at once.
ALIVE=""
wait_for() {
    local what=$1 p; shift
    until "$@" >/dev/null 2>&1; do
        left || fail "timed out waiting for $what"
        for p in $ALIVE; do kill -0 "${p%%:*}" 2>/dev/null || fail "${p#*:} exited while waiting for $what"; done
        sleep 0.2
    done
    log "ok: $what"
}

# metric NS PORT NAME: sum of every sample of NAME on http://127.0.0.1:PORT/metrics
# (NAME may carry its labels, as exported: mdp_stores{state="live"})
metric() {
    in_ns "$1" curl -fsS --max-time 2 "http://127.0.0.1:$2/metrics" |
        awk -v m="$3" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d\n", s }'
}
# metric_f NS PORT NAME: the same, as a decimal (for gauges below 1)
metric_f() {
    in_ns "$1" curl -fsS --max-time 2 "http://127.0.0.1:$2/metrics" |
        awk -v m="$3" '$1 == m || index($1, m "{") == 1 { s += $NF; n++ } END { if (n) printf "%.4f\n", s; else exit 1 }'
}
# Rows the pipeline wrote (the key-rotation check below adds one of its own).
rows() {
    in_ns mdf-store "$PGBIN/psql" "$CONNINFO" -tAqc \
        "SELECT count(*) FROM bars WHERE provider <> 'rotation-check'" 2>/dev/null
}
rows_positive() { local n; n=$(rows) && [ "${n:-0}" -gt 0 ]; }
health() { in_ns "$1" curl -fsS --max-time 2 "$2" | grep -q '"service"'; }

# ---------------------------------------------------------------- network
for ns in $NETS; do
    if ip netns list | grep -qw "^$ns"; then
        log "removing leftover namespace $ns"
        ip netns del "$ns"
    fi
done
NETNS_MADE=1
# write_hosts STORE_IP...: every namespace's /etc/hosts, `store` answering
# with each address given (compose's DNS: one record per replica).  Written
# in place: a process already running in the namespace reads the new names.
write_hosts() {
    local ns ip
    for ns in $NETS; do
        {
            printf '127.0.0.1\tlocalhost\n'
            for ip in "$@"; do printf '%s\tstore\n' "$ip"; done
            printf '%s.3\tpipeline\n%s.4\tpostgres\n' "$SUBNET" "$SUBNET"
        } > "/etc/netns/$ns/hosts"
    done
}
for ns in $NETS; do
    ip netns add "$ns" || fail "ip netns add $ns"
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"
done
write_hosts "$STORE1_IP" "$STORE2_IP"
ip -n mdf-net link add br0 type bridge || fail "cannot create a bridge"
ip -n mdf-net link set br0 up
for spec in store:2 pipeline:3 pg:4 store2:5; do
    host=${spec%%:*}
    ip -n mdf-net link add "v-$host" type veth peer name eth0 netns "mdf-$host" || fail "veth for $host"
    ip -n mdf-net link set "v-$host" master br0 up
    ip -n "mdf-$host" addr add "$SUBNET.${spec#*:}/24" dev eth0
    ip -n "mdf-$host" link set eth0 up
done
log "namespaces up: $NETS on $SUBNET.0/24"

# ---------------------------------------------------------------- postgres
mkdir -p "$TMP/pgdata" "$TMP/sock"
chown postgres: "$TMP/pgdata" "$TMP/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pgdata" -U postgres -E UTF8 --no-instructions \
    --auth-local=trust --auth-host=scram-sha-256 >"$TMP/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$TMP/initdb.log")"
touch "$TMP/pg.log" && chown postgres: "$TMP/pg.log"
echo "host all all $SUBNET.0/24 scram-sha-256" >> "$TMP/pgdata/pg_hba.conf"
PG_STARTED=1   # before start: an interrupted `pg_ctl -w start` still leaves a server
in_ns mdf-pg runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pgdata" -l "$TMP/pg.log" -w -t 20 \
    -o "-c listen_addresses=$SUBNET.4 -c port=$PGPORT_ -c unix_socket_directories=$TMP/sock -c fsync=off" \
    start >/dev/null || fail "pg_ctl start"
in_ns mdf-pg runuser -u postgres -- "$PGBIN/psql" -h "$TMP/sock" -p "$PGPORT_" -U postgres -qAt \
    -v ON_ERROR_STOP=1 -c "CREATE ROLE \"$PGUSER_\" LOGIN PASSWORD '$PGPASS_'" \
    -c "CREATE DATABASE \"$PGDB_\" OWNER \"$PGUSER_\"" || fail "create role/database"
wait_for "postgres reachable as 'postgres' from mdf-store" \
    in_ns mdf-store "$PGBIN/psql" "$CONNINFO" -tAqc "SELECT 1"

# ---------------------------------------------------------------- keys
# The compose key volumes and who mounts them where, from docker-compose.yml.
mkdir -p "$TMP/keys" "$TMP/bin"
# What the images have on their PATH (/usr/local/bin): the built binaries.
ln -s "$MDCTL" "$TMP/bin/mdctl"
ln -s "$STORE_BIN" "$TMP/bin/md-store"
ln -s "$PIPE_BIN" "$TMP/bin/md-pipeline"
PLAN=$(MDF_SOURCE_ROOT="$SRC" python3 "$SRC/tests/deploy/check_deploy.py" --compose-plan "$TMP/keys") ||
    fail "check_deploy.py --compose-plan: $PLAN"
read -r _ KEYS_SVC KEYS_WD < <(grep '^writer ' <<< "$PLAN")
[ -n "${KEYS_SVC:-}" ] || fail "no key-writing service in docker-compose.yml"
chmod -R 755 "$TMP/keys"
while read -r _ svc _ target _; do
    case "$target" in
        /run/*) ;;
        *) fail "key volume target $target of $svc is not under /run: cannot emulate it" ;;
    esac
done < <(grep '^mount ' <<< "$PLAN")

# mounts_for SERVICE: shell commands that give SERVICE's key volumes the paths
# compose gives them (run in a private mount namespace: a tmpfs becomes /run).
mounts_for() {
    local svc vol target mode
    echo "mount -t tmpfs -o mode=0755,size=1m mdf-run /run;"
    while read -r _ svc vol target mode; do
        [ "$svc" = "$1" ] || continue
        echo "mkdir -p '$target' && mount --bind '$vol' '$target';"
        [ "$mode" = ro ] && echo "mount -o remount,bind,ro '$target';"
    done < <(grep '^mount ' <<< "$PLAN")
}
# host_path SERVICE PATH: the file on this host that SERVICE sees at PATH (on one of its key volumes).
host_path() {
    local svc vol target
    while read -r _ svc vol target _; do
        [ "$svc" = "$1" ] || continue
        case "$2" in "$target"/*) echo "$vol${2#"$target"}"; return 0 ;; esac
    done < <(grep '^mount ' <<< "$PLAN")
    return 1
}
# vol_dir VOLUME: the directory standing in for a compose named volume.
vol_dir() {
    grep '^mount ' <<< "$PLAN" | awk -v v="/vol/$1" 'substr($3, length($3) - length(v) + 1) == v { print $3; exit }'
}

# `docker-compose up` runs the keys service first, as root.
PATH="$TMP/bin:$PATH" unshare -m --propagation private sh -ec \
    "$(mounts_for "$KEYS_SVC") cd '$KEYS_WD'; exec sh '$TMP/keys/keys.sh'" >"$TMP/keys.log" 2>&1 ||
    fail "the compose $KEYS_SVC service's command failed: $(tail -n 5 "$TMP/keys.log")"
log "ok: $KEYS_SVC service made the keys ($(grep -c '^mount ' <<< "$PLAN") volume mounts)"
# A second `up` must keep them (restarts must not lock clients out).
sums() { find "$TMP/keys/vol" -type f -exec md5sum {} + | sort; }
before=$(sums)
PATH="$TMP/bin:$PATH" unshare -m --propagation private sh -ec \
    "$(mounts_for "$KEYS_SVC") cd '$KEYS_WD'; exec sh '$TMP/keys/keys.sh'" >>"$TMP/keys.log" 2>&1 ||
    fail "the compose $KEYS_SVC service failed when run again"
[ "$(sums)" = "$before" ] || fail "running the $KEYS_SVC service again changed the keys or the control token"

# The images run as uid 10001 (the keys service hands the files to it): do the
# same when uid 10001 can reach the binaries and configs.
AS_USER=""
if command -v setpriv >/dev/null 2>&1 &&
    setpriv --reuid=10001 --regid=10001 --clear-groups sh -c \
        "test -x '$STORE_BIN' && test -x '$PIPE_BIN' && test -r '$STORE_TOML' && test -r '$PIPE_TOML'" 2>/dev/null; then
    AS_USER="setpriv --reuid=10001 --regid=10001 --clear-groups"
else
    log "note: services run as root (setpriv missing or uid 10001 cannot read the build)"
fi

# service_cmd SERVICE: the sh -c script that mounts its volumes and execs "$@".
service_cmd() { echo "$(mounts_for "$1") exec $AS_USER \"\$0\" \"\$@\""; }

# ---------------------------------------------------------------- services
# How compose starts them (entrypoint + command, or the image's), with the
# compose file's environment and the config files it mounts: from the plan.
mapfile -d '' -t STORE_ARGV < "$TMP/keys/store.argv"
mapfile -d '' -t STORE_ENV < "$TMP/keys/store.env"
mapfile -d '' -t PIPE_ARGV < "$TMP/keys/pipeline.argv"
mapfile -d '' -t PIPE_ENV < "$TMP/keys/pipeline.env"
[ "${#STORE_ARGV[@]}" -gt 0 ] && [ "${#PIPE_ARGV[@]}" -gt 0 ] || fail "no command for store or pipeline in the plan"
log "store runs as: ${STORE_ARGV[*]}"
# The services see only the config files and the compose environment: no
# MDS_*/MDP_* from the caller.
UNSET=$(env | sed -n 's/^\(MD[SP]_[A-Za-z0-9_]*\)=.*/-u \1/p')
# start_store NS HOSTNAME LOG: a replica of the compose store service.
start_store() {
    # shellcheck disable=SC2086
    (cd "$TMP" && exec env $UNSET "${STORE_ENV[@]}" HOSTNAME="$2" PATH="$TMP/bin:$PATH" \
        ip netns exec "$1" unshare -m --propagation private \
        sh -ec "$(service_cmd store)" "${STORE_ARGV[@]}") >"$TMP/$3" 2>&1 &
}
# coordinator_id NS: the coordinator_id a store's metrics carry.
coordinator_id() {
    in_ns "$1" curl -fsS --max-time 2 http://127.0.0.1:9101/metrics |
        sed -n 's/^coordinator_queue_capacity{.*coordinator_id="\([^"]*\)".*/\1/p' | head -n 1
}
start_store mdf-store "$STORE1_HOST" store.log
STORE_PID=$!
start_store mdf-store2 "$STORE2_HOST" store2.log
STORE2_PID=$!
ALIVE="$STORE_PID:md-store $STORE2_PID:md-store(replica-2)"
wait_for "store /health in mdf-store" health mdf-store http://127.0.0.1:9101/health
wait_for "store /health in mdf-store2" health mdf-store2 http://127.0.0.1:9101/health
if [ -n "$AS_USER" ]; then
    [ "$(stat -c %u "/proc/$STORE_PID")" = 10001 ] || fail "md-store does not run as uid 10001"
    log "ok: md-store runs as uid 10001 and reads its keys"
fi
# One coordinator_id per replica: the compose entrypoint's store-$HOSTNAME.
ID1=$(coordinator_id mdf-store) ID2=$(coordinator_id mdf-store2)
[ "$ID1" = "store-$STORE1_HOST" ] && [ "$ID2" = "store-$STORE2_HOST" ] ||
    fail "replicas have coordinator_id '$ID1' and '$ID2', want store-$STORE1_HOST and store-$STORE2_HOST"
log "ok: each replica has its own coordinator_id ($ID1, $ID2)"
# shellcheck disable=SC2086
(cd "$TMP" && exec env $UNSET "${PIPE_ENV[@]}" PATH="$TMP/bin:$PATH" \
    ip netns exec mdf-pipeline unshare -m --propagation private \
    sh -ec "$(service_cmd pipeline)" "${PIPE_ARGV[@]}") >"$TMP/pipeline.log" 2>&1 &
PIPE_PID=$!
ALIVE="$ALIVE $PIPE_PID:md-pipeline"
wait_for "pipeline /health in mdf-pipeline" health mdf-pipeline http://127.0.0.1:9102/health
wait_for "store /health from mdf-pipeline as http://store:9101" health mdf-pipeline http://store:9101/health
# [store] discover = "store": both replicas from the one name, both members.
stores_are() { # stores_are N: N addresses in the last lookup, N live members
    [ "$(metric mdf-pipeline 9102 mdp_discovery_stores)" = "$1" ] &&
        [ "$(metric mdf-pipeline 9102 'mdp_stores{state="live"}')" = "$1" ]
}
wait_for "the pipeline finds both replicas by the name store (2 discovered, 2 live)" stores_are 2
wait_for "bars in PostgreSQL" rows_positive
wrote() { [ "$(metric "$1" 9101 mds_bars_written_total)" -gt 0 ]; }
wait_for "replica 1 writes bars" wrote mdf-store
wait_for "replica 2 writes bars" wrote mdf-store2
# The shipped configs are a demo of the loop: the pipeline asks 20,000
# bars/s, each store's sink takes 5,000 rows/s.  The share policy holds the
# pipeline to what the sinks take (its rate scale below 1) and the stores'
# queues short: no store refuses a batch for a full queue.
held_back() {
    local s
    s=$(metric_f mdf-pipeline 9102 pipeline_rate_scale_factor) || return 1
    awk -v s="$s" 'BEGIN { exit !(s < 0.9) }'
}
wait_for "the pipeline is held to what the two sinks take (rate scale below 0.9)" held_back
for ns in mdf-store mdf-store2; do
    [ "$(metric "$ns" 9101 'mds_batches_total{status="retry"}')" = 0 ] ||
        fail "$ns answered retry: its queue was full, the pipeline was not held back in time"
done
log "ok: rate scale $(metric_f mdf-pipeline 9102 pipeline_rate_scale_factor), queues" \
    "$(metric mdf-store 9101 coordinator_queue_depth) and $(metric mdf-store2 9101 coordinator_queue_depth) bars, no retry"
log "rows so far: $(rows); replicas wrote $(metric mdf-store 9101 mds_bars_written_total)" \
    "and $(metric mdf-store2 9101 mds_bars_written_total)"

# ---------------------------------------------------------------- control token
# pipeline.toml's [http] control_token_file, on the pipeline's key volume.
TOKEN_PATH=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["http"]["control_token_file"])' \
    "$PIPE_TOML") || fail "no [http] control_token_file in $PIPE_TOML"
TOKEN_FILE=$(host_path pipeline "$TOKEN_PATH") || fail "control_token_file $TOKEN_PATH is on no volume of the pipeline"
[ -s "$TOKEN_FILE" ] || fail "the $KEYS_SVC service made no control token ($TOKEN_PATH)"
[ "$(stat -c '%u %a' "$TOKEN_FILE")" = "10001 400" ] ||
    fail "control token: owner and mode $(stat -c '%u %a' "$TOKEN_FILE"), want 10001 400 (uid 10001 only)"
TOKEN=$(head -n 1 "$TOKEN_FILE")
[ "${#TOKEN}" -ge 43 ] || fail "control token of ${#TOKEN} characters: fewer than 32 random bytes"
grep -q 'md-pipeline started.*control=token' "$TMP/pipeline.log" || fail "md-pipeline did not start with control=token"
! grep -q 'open to anyone' "$TMP/pipeline.log" || fail "md-pipeline warns that /control/* is open"
# control NS URL [curl args]: HTTP status of POST URL from namespace NS.
control() {
    local ns=$1 url=$2; shift 2
    in_ns "$ns" curl -sS --max-time 2 -o /dev/null -w '%{http_code}' -X POST "$@" "$url"
}
# with_token NS URL: POST URL with the token from the volume, sent on stdin
# (-H @-), not on the command line, as deploy/README.md shows.
with_token() { printf 'Authorization: Bearer %s\n' "$TOKEN" | control "$1" "$2" -H @-; }
unauth_before=$(metric mdf-pipeline 9102 mdp_http_unauthorized_total)
code=$(control mdf-pipeline http://127.0.0.1:9102/control/pause)
[ "$code" = 401 ] || fail "POST /control/pause without a token: $code, want 401"
code=$(control mdf-store http://pipeline:9102/control/pause)
[ "$code" = 401 ] || fail "POST /control/pause from the store's namespace without a token: $code, want 401"
code=$(control mdf-pipeline http://127.0.0.1:9102/control/pause -H "Authorization: Bearer not-the-token")
[ "$code" = 401 ] || fail "POST /control/pause with a wrong token: $code, want 401"
[ "$(metric mdf-pipeline 9102 mdp_http_unauthorized_total)" -ge $((unauth_before + 3)) ] ||
    fail "mdp_http_unauthorized_total did not count the 3 refusals"
[ "$(metric mdf-pipeline 9102 mdp_paused)" = 0 ] || fail "a refused POST /control/pause paused the pipeline"
log "ok: POST /control/pause without the token or with another one: 401, not paused"
code=$(with_token mdf-pipeline http://127.0.0.1:9102/control/pause)
[ "$code" = 200 ] || fail "POST /control/pause with the token from the $KEYS_SVC volume: $code, want 200"
[ "$(metric mdf-pipeline 9102 mdp_paused)" = 1 ] || fail "POST /control/pause answered 200 but mdp_paused is not 1"
log "ok: POST /control/pause with the token from the pipeline's volume: 200, paused"

# ---------------------------------------------------------------- drain
drained() {
    local inflight ing ack
    inflight=$(metric mdf-pipeline 9102 mdp_batches_inflight) || return 1
    ing=$(metric mdf-pipeline 9102 mdp_bars_ingested_total) || return 1
    ack=$(metric mdf-pipeline 9102 mdp_bars_acked_total) || return 1
    [ "$inflight" -eq 0 ] && [ "$ing" -eq "$ack" ] && [ "$ack" -gt 0 ]
}
wait_for "pipeline paused and drained (inflight 0, acked == ingested)" drained
ACKED=$(metric mdf-pipeline 9102 mdp_bars_acked_total)
W1=$(metric mdf-store 9101 mds_bars_written_total)
W2=$(metric mdf-store2 9101 mds_bars_written_total)
# A batch is written twice only when it was resent to the other store after
# an ack timeout (harmless: upserts); otherwise the counts match exactly.
RESENT=$(metric mdf-pipeline 9102 'mdp_batches_resent_total{reason="timeout"}')
if [ "$RESENT" = 0 ]; then
    [ $((W1 + W2)) = "$ACKED" ] || fail "the stores wrote $W1 + $W2 bars, the pipeline has $ACKED acked"
else
    [ $((W1 + W2)) -ge "$ACKED" ] || fail "the stores wrote $W1 + $W2 bars, fewer than the $ACKED acked"
    log "note: $RESENT batches resent after an ack timeout: the stores wrote $((W1 + W2 - ACKED)) bars twice"
fi
log "ok: $ACKED bars acked, written by replica 1 ($W1) and replica 2 ($W2)"

# ---------------------------------------------------------------- a new client
# Unknown key: refused.  Its NAME.key copied into the authorized-keys volume
# (deploy/README.md: `docker-compose run --rm --no-deps -T keys 'cat > authorized/...'`):
# admitted, no restart.  Sent to replica 1 by its address (`store` names both).
STORE_PUB="$(vol_dir pipeline-key)/store.key"
[ -f "$STORE_PUB" ] || fail "no store.key in the pipeline's key volume"
mkdir -p "$TMP/client"
"$MDCTL" keygen rotation --dir "$TMP/client" >/dev/null || fail "mdctl keygen rotation"
printf 'symbol,ts,open,high,low,close,volume\nROT,1700000000,1,2,0.5,1.5,10\n' > "$TMP/rotation.csv"
send_rotation() {
    exec ip netns exec mdf-pipeline timeout 20 "$MDCTL" send "tcp://$STORE1_IP:5555" "$TMP/rotation.csv" \
        --provider rotation-check --curve-secret "$TMP/client/rotation.key_secret" --curve-server-key "$STORE_PUB" "$@"
}
refused_before=$(metric mdf-store 9101 mds_auth_failures_total)
(send_rotation) >"$TMP/refused.log" 2>&1 &
REFUSED_PID=$!
refused() { [ "$(metric mdf-store 9101 mds_auth_failures_total)" -gt "$refused_before" ]; }
wait_for "a client with an unknown key is refused (mds_auth_failures_total)" refused
stop_pid "$REFUSED_PID" "mdctl send (refused)"; REFUSED_PID=""
[ "$(metric mdf-store 9101 mds_bars_written_total)" = "$W1" ] || fail "the refused client's bar was written"
cp "$TMP/client/rotation.key" "$(vol_dir authorized-keys)/rotation.key"
(send_rotation --max-attempts 10 --timeout-ms 500) >"$TMP/admitted.log" 2>&1 ||
    fail "the client is not let in after its key was added: $(tail -n 2 "$TMP/admitted.log")"
log "ok: the same client is let in once its key is in authorized-keys (no restart)"

# ---------------------------------------------------------------- scale down
# `docker-compose up --scale store=1`: compose sends SIGTERM to replica 2,
# which drains and announces `shutdown`, and drops its name once it is gone.
# The pipeline, running, must retire it, go on with replica 1, and lose
# nothing that was in flight there.
code=$(with_token mdf-pipeline http://127.0.0.1:9102/control/resume)
[ "$code" = 200 ] || fail "POST /control/resume with the token: $code, want 200"
W1_BEFORE=$(metric mdf-store 9101 mds_bars_written_total)
more2() { [ "$(metric mdf-store2 9101 mds_bars_written_total)" -gt "$W2" ]; }
wait_for "replica 2 takes bars again after the resume" more2
ALIVE="$STORE_PID:md-store $PIPE_PID:md-pipeline"
kill -TERM "$STORE2_PID"
wait_for "replica 2 exits after SIGTERM" eval '! kill -0 '"$STORE2_PID"
wait "$STORE2_PID"; rc=$?; STORE2_PID=""
[ "$rc" = 0 ] || fail "replica 2 exited $rc after SIGTERM (its drain did not complete)"
grep -q 'msg=drained unacked_batches=0' "$TMP/store2.log" || fail "replica 2 did not log a complete drain"
write_hosts "$STORE1_IP"
log "ok: replica 2 drained and exited 0; its name is gone"
wait_for "the pipeline drops replica 2 (1 discovered, 1 live)" stores_are 1
W1_AFTER=$(metric mdf-store 9101 mds_bars_written_total)
[ "$W1_AFTER" -gt "$W1_BEFORE" ] || fail "replica 1 wrote nothing while replica 2 left"
more1() { [ "$(metric mdf-store 9101 mds_bars_written_total)" -gt $((W1_AFTER + 5000)) ]; }
wait_for "replica 1 goes on taking bars alone" more1
code=$(with_token mdf-pipeline http://127.0.0.1:9102/control/pause)
[ "$code" = 200 ] || fail "POST /control/pause with the token (after the scale-down): $code, want 200"
wait_for "pipeline paused and drained again (nothing lost when replica 2 left)" drained
ACKED=$(metric mdf-pipeline 9102 mdp_bars_acked_total)
log "ok: $ACKED bars acked in all, every ingested bar"

# ---------------------------------------------------------------- stop
ALIVE=""
kill -TERM "$PIPE_PID"
wait_for "md-pipeline exits after SIGTERM" eval '! kill -0 '"$PIPE_PID"
wait "$PIPE_PID"; rc=$?; PIPE_PID=""
[ "$rc" = 0 ] || fail "md-pipeline exited $rc after SIGTERM"
kill -TERM "$STORE_PID"
wait_for "md-store exits after SIGTERM" eval '! kill -0 '"$STORE_PID"
wait "$STORE_PID"; rc=$?; STORE_PID=""
[ "$rc" = 0 ] || fail "md-store exited $rc after SIGTERM"

grep -qF -- "$TOKEN" "$TMP"/*.log && fail "the control token appears in a log"
ROWS=$(rows) || fail "cannot count rows"
ROT=$(in_ns mdf-store "$PGBIN/psql" "$CONNINFO" -tAqc "SELECT count(*) FROM bars WHERE provider = 'rotation-check'")
[ "$ROT" = 1 ] || fail "the admitted client's bar is not in PostgreSQL ($ROT rows)"
log "acked $ACKED bars, PostgreSQL holds $ROWS rows"
# The postgres sink stores ts as timestamptz (microseconds): synthetic bars of
# one symbol less than 1 us apart share a key and are upserted into one row,
# so rows can be fewer than bars, never more, and never zero.
[ "$ROWS" -gt 0 ] && [ "$ROWS" -le "$ACKED" ] || fail "rows in PostgreSQL ($ROWS) not in 1..$ACKED"
[ "$ROWS" = "$ACKED" ] || log "note: $((ACKED - ROWS)) bars shared a microsecond with another bar of their symbol"
log "PASS in $SECONDS s"
exit 0
