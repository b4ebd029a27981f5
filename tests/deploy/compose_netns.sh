#!/bin/bash
# compose_netns.sh: docker/docker-compose.yml's topology, without Docker.
#
# No container engine runs in CI, so this test builds the same topology out of
# network namespaces and runs the real binaries with the very config files the
# compose file mounts (docker/config/store.toml, pipeline.toml):
#
#   netns mdf-net       bridge br0 (the "compose network"), nothing else
#   netns mdf-store     10.213.0.2  md-store  (binds tcp://0.0.0.0:5555/5556, http :9101)
#   netns mdf-pipeline  10.213.0.3  md-pipeline (connects tcp://store:5555/5556, http :9102)
#   netns mdf-pg        10.213.0.4  PostgreSQL 15 (initdb + pg_ctl as user postgres)
#
# Each namespace is joined to br0 by a veth pair created inside mdf-net (so no
# interface ever appears in the host's namespace), and gets
# /etc/netns/<name>/hosts, which `ip netns exec` mounts over /etc/hosts, so
# the names `store`, `pipeline` and `postgres` resolve as in compose.
# 10.213.0.0/24 exists only inside these namespaces and is never routed.
# The database role, password and name come from store.toml's conninfo.
#
# CurveZMQ and the pipeline's control token are on in those configs, so the
# keys and the token are made as compose makes them: the one-shot `keys`
# service's command (read from docker-compose.yml by
# `check_deploy.py --compose-plan`) runs with the built mdctl, in a private
# mount namespace where a fresh tmpfs is /run and each of its named volumes (a
# directory under $TMP) is bind-mounted at its compose target.  Store and
# pipeline then run the same way, with their volumes bind-mounted read-only
# where compose mounts them, as uid 10001 like the images (when setpriv is
# there and uid 10001 can read the build): so the config paths, the volume
# layout, the script and the file ownership it sets are all exercised.
#
# Asserts, each with a deadline: /health answers in both namespaces (and the
# store's across the bridge, as Prometheus would scrape it); bars reach
# PostgreSQL (over CurveZMQ); the demo overload drives the store to SOFT or
# HARD; the control token is in the pipeline's volume, uid 10001's only (0400),
# and kept by a second run of `keys`; POST /control/pause without the token
# (or with another one), from the pipeline's namespace and from the store's
# across the bridge, is 401 and does not pause it; with the token read from
# the volume (as deploy/README.md tells operators) it is 200 and the pipeline
# pauses; the token appears in no log; after that pause the pipeline has
# nothing in flight and
# every ingested bar is acked and the store counts exactly those bars written;
# a client with a key the store does not know is refused
# (mds_auth_failures_total rises), and once its NAME.key is copied into the
# authorized-keys volume (deploy/README.md) it is let in without a restart;
# SIGTERM stops the pipeline and the store with exit 0; the bars table then
# holds between 1 and that many pipeline rows (the postgres sink keeps ts to
# the microsecond, so bars closer than that collapse into one row).
# Everything started here is stopped by PID and every namespace and
# /etc/netns entry removed by the EXIT trap; the mounts live and die with
# their processes' namespaces.  Runs from several build trees take turns
# (flock, 20 s at most); the run itself is bounded to 60 s.
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
NETS="mdf-net mdf-store mdf-pipeline mdf-pg"
SUBNET=10.213.0

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
DEADLINE=$((SECONDS + 60))

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
STORE_PID="" PIPE_PID="" REFUSED_PID="" PG_STARTED=0 NETNS_MADE=0

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
        for f in keys.log store.log pipeline.log pg.log refused.log admitted.log; do
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
metric() {
    in_ns "$1" curl -fsS --max-time 2 "http://127.0.0.1:$2/metrics" |
        awk -v m="$3" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d\n", s }'
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
for ns in $NETS; do
    ip netns add "$ns" || fail "ip netns add $ns"
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"
    printf '127.0.0.1\tlocalhost\n%s.2\tstore\n%s.3\tpipeline\n%s.4\tpostgres\n' \
        "$SUBNET" "$SUBNET" "$SUBNET" > "/etc/netns/$ns/hosts"
done
ip -n mdf-net link add br0 type bridge || fail "cannot create a bridge"
ip -n mdf-net link set br0 up
i=2
for host in store pipeline pg; do
    ip -n mdf-net link add "v-$host" type veth peer name eth0 netns "mdf-$host" || fail "veth for $host"
    ip -n mdf-net link set "v-$host" master br0 up
    ip -n "mdf-$host" addr add "$SUBNET.$i/24" dev eth0
    ip -n "mdf-$host" link set eth0 up
    i=$((i + 1))
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
ln -s "$MDCTL" "$TMP/bin/mdctl"
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
# The services see only the config files: no MDS_*/MDP_* from the caller.
UNSET=$(env | sed -n 's/^\(MD[SP]_[A-Za-z0-9_]*\)=.*/-u \1/p')
# shellcheck disable=SC2086
(cd "$TMP" && exec env $UNSET ip netns exec mdf-store unshare -m --propagation private \
    sh -ec "$(service_cmd store)" "$STORE_BIN" --config "$STORE_TOML") >"$TMP/store.log" 2>&1 &
STORE_PID=$!
ALIVE="$STORE_PID:md-store"
wait_for "store /health in mdf-store" health mdf-store http://127.0.0.1:9101/health
if [ -n "$AS_USER" ]; then
    [ "$(stat -c %u "/proc/$STORE_PID")" = 10001 ] || fail "md-store does not run as uid 10001"
    log "ok: md-store runs as uid 10001 and reads its keys"
fi
# shellcheck disable=SC2086
(cd "$TMP" && exec env $UNSET ip netns exec mdf-pipeline unshare -m --propagation private \
    sh -ec "$(service_cmd pipeline)" "$PIPE_BIN" --config "$PIPE_TOML") >"$TMP/pipeline.log" 2>&1 &
PIPE_PID=$!
ALIVE="$ALIVE $PIPE_PID:md-pipeline"
wait_for "pipeline /health in mdf-pipeline" health mdf-pipeline http://127.0.0.1:9102/health
wait_for "store /health from mdf-pipeline as http://store:9101" health mdf-pipeline http://store:9101/health
wait_for "bars in PostgreSQL" rows_positive
# The shipped configs are a demo of the loop: 4x overload against the
# throttled sink must push the store out of OK.
not_ok() {
    local soft hard
    soft=$(metric mdf-store 9101 coordinator_backpressure_soft) || return 1
    hard=$(metric mdf-store 9101 coordinator_backpressure_hard) || return 1
    [ $((soft + hard)) -gt 0 ]
}
wait_for "store goes SOFT or HARD under the demo overload" not_ok
kill -0 "$STORE_PID" 2>/dev/null || fail "md-store exited"
kill -0 "$PIPE_PID" 2>/dev/null || fail "md-pipeline exited"
log "rows so far: $(rows); store wrote $(metric mdf-store 9101 mds_bars_written_total)"

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
# As deploy/README.md: the token from the volume, sent on stdin (-H @-), not on the command line.
code=$(printf 'Authorization: Bearer %s\n' "$TOKEN" | control mdf-pipeline http://127.0.0.1:9102/control/pause -H @-)
[ "$code" = 200 ] || fail "POST /control/pause with the token from the $KEYS_SVC volume: $code, want 200"
[ "$(metric mdf-pipeline 9102 mdp_paused)" = 1 ] || fail "POST /control/pause answered 200 but mdp_paused is not 1"
log "ok: POST /control/pause with the token from the pipeline's volume: 200, paused"

# ---------------------------------------------------------------- drain + stop
drained() {
    local inflight ing ack
    inflight=$(metric mdf-pipeline 9102 mdp_batches_inflight) || return 1
    ing=$(metric mdf-pipeline 9102 mdp_bars_ingested_total) || return 1
    ack=$(metric mdf-pipeline 9102 mdp_bars_acked_total) || return 1
    [ "$inflight" -eq 0 ] && [ "$ing" -eq "$ack" ] && [ "$ack" -gt 0 ]
}
wait_for "pipeline paused and drained (inflight 0, acked == ingested)" drained
ACKED=$(metric mdf-pipeline 9102 mdp_bars_acked_total)
WRITTEN=$(metric mdf-store 9101 mds_bars_written_total)
[ "$WRITTEN" = "$ACKED" ] || fail "store wrote $WRITTEN bars, pipeline has $ACKED acked"

# ---------------------------------------------------------------- a new client
# Unknown key: refused.  Its NAME.key copied into the authorized-keys volume
# (deploy/README.md: `docker-compose run --rm -T keys 'cat > authorized/...'`):
# admitted, no restart.
STORE_PUB="$(vol_dir pipeline-key)/store.key"
[ -f "$STORE_PUB" ] || fail "no store.key in the pipeline's key volume"
mkdir -p "$TMP/client"
"$MDCTL" keygen rotation --dir "$TMP/client" >/dev/null || fail "mdctl keygen rotation"
printf 'symbol,ts,open,high,low,close,volume\nROT,1700000000,1,2,0.5,1.5,10\n' > "$TMP/rotation.csv"
send_rotation() {
    exec ip netns exec mdf-pipeline timeout 20 "$MDCTL" send tcp://store:5555 "$TMP/rotation.csv" \
        --provider rotation-check --curve-secret "$TMP/client/rotation.key_secret" --curve-server-key "$STORE_PUB" "$@"
}
refused_before=$(metric mdf-store 9101 mds_auth_failures_total)
(send_rotation) >"$TMP/refused.log" 2>&1 &
REFUSED_PID=$!
refused() { [ "$(metric mdf-store 9101 mds_auth_failures_total)" -gt "$refused_before" ]; }
wait_for "a client with an unknown key is refused (mds_auth_failures_total)" refused
stop_pid "$REFUSED_PID" "mdctl send (refused)"; REFUSED_PID=""
[ "$(metric mdf-store 9101 mds_bars_written_total)" = "$WRITTEN" ] || fail "the refused client's bar was written"
cp "$TMP/client/rotation.key" "$(vol_dir authorized-keys)/rotation.key"
(send_rotation --max-attempts 10 --timeout-ms 500) >"$TMP/admitted.log" 2>&1 ||
    fail "the client is not let in after its key was added: $(tail -n 2 "$TMP/admitted.log")"
log "ok: the same client is let in once its key is in authorized-keys (no restart)"

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
log "acked $ACKED bars, store wrote $WRITTEN, PostgreSQL holds $ROWS rows"
# The postgres sink stores ts as timestamptz (microseconds): synthetic bars of
# one symbol less than 1 us apart share a key and are upserted into one row,
# so rows can be fewer than bars, never more, and never zero.
[ "$ROWS" -gt 0 ] && [ "$ROWS" -le "$ACKED" ] || fail "rows in PostgreSQL ($ROWS) not in 1..$ACKED"
[ "$ROWS" = "$ACKED" ] || log "note: $((ACKED - ROWS)) bars shared a microsecond with another bar of their symbol"
log "PASS in $SECONDS s"
exit 0
