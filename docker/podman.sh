#!/usr/bin/env bash
# podman.sh: the compose deployment with podman and podman-compose (1.0.x,
# Debian 12's), doing by hand what podman-compose skips (deploy/README.md,
# "Podman").  Run it from anywhere; it works on docker/docker-compose.yml.
#
#   docker/podman.sh up            build (Docker format: keeps the HEALTHCHECK),
#                                  create, then start in the order the
#                                  depends_on conditions say: keys (exit 0),
#                                  postgres (healthy), store (healthy),
#                                  pipeline (healthy), prometheus, grafana
#   docker/podman.sh down [-v]     stop with the longest stop_grace_period of
#                                  the compose file (podman-compose: 10 s,
#                                  shorter than the store's 30 s drain), remove
#   docker/podman.sh token         print the control token, nothing else
#   docker/podman.sh port SERVICE PORT   the host address of a published port
#   docker/podman.sh health SERVICE      run its health check now (exit 0: healthy)
#
# Env: COMPOSE_PROJECT_NAME (default: docker, as docker-compose names the
# project of docker/docker-compose.yml), PODMAN (default podman),
# PODMAN_COMPOSE (default podman-compose; words: a command and its options),
# MDF_WAIT_S (default 180: how long
# `up` waits for each service).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
compose_file="$here/docker-compose.yml"
project=${COMPOSE_PROJECT_NAME:-docker}
podman=${PODMAN:-podman}
read -r -a pcompose <<<"${PODMAN_COMPOSE:-podman-compose}"
wait_s=${MDF_WAIT_S:-180}

pc () { "${pcompose[@]}" -p "$project" -f "$compose_file" "$@"; }
# podman-compose names the first container of SERVICE PROJECT_SERVICE_1
name () { echo "${project}_$1_1"; }
die () { echo "podman.sh: $*" >&2; exit 1; }

# The longest stop_grace_period in the compose file, in seconds.
grace_s () {
    sed -n 's/^ *stop_grace_period: *\([0-9]*\)s *$/\1/p' "$compose_file" | sort -n | tail -n 1
}

health () {
    # No systemd, no timer runs the HEALTHCHECK: run it here.  Exit 0 when
    # healthy; also updates what `podman ps` shows.
    "$podman" healthcheck run "$(name "$1")" >/dev/null 2>&1
}

wait_healthy () {
    local svc=$1 t=0
    until health "$svc"; do
        [ "$("$podman" inspect -f '{{.State.Running}}' "$(name "$svc")" 2>/dev/null)" = true ] ||
            [ "$t" -lt 10 ] || die "$svc is not running: $podman logs $(name "$svc")"
        t=$((t + 2))
        [ "$t" -le "$wait_s" ] || die "$svc not healthy after ${wait_s} s: $podman logs $(name "$svc")"
        sleep 2
    done
    echo "$svc healthy"
}

cmd=${1:-}
shift || true
case "$cmd" in
up)
    # podman builds OCI images by default, which have no HEALTHCHECK;
    # podman-compose's build has no --format, buildah reads this instead.
    export BUILDAH_FORMAT=docker
    pc build
    # Create every container, start none: podman-compose would start them all
    # at once (it ignores depends_on conditions).
    pc up --no-start --no-build
    "$podman" start "$(name keys)" >/dev/null
    rc=$("$podman" wait "$(name keys)")
    [ "$rc" = 0 ] || die "keys exited $rc: $podman logs $(name keys)"
    echo "keys done"
    for svc in postgres store pipeline prometheus grafana; do
        "$podman" start "$(name "$svc")" >/dev/null
        wait_healthy "$svc"
    done
    ;;
down)
    g=$(grace_s)
    [ -n "$g" ] || die "no stop_grace_period in $compose_file"
    pc down -t "$g" "$@"
    ;;
token)
    # `podman-compose run` prints its podman commands on stdout, so
    # TOKEN=$(podman-compose run ...) would hold them too: read the volume
    # with podman itself.  Same command with docker.
    exec "$podman" run --rm --no-healthcheck -v "${project}_pipeline-key:/k:ro" --entrypoint cat \
        mdflow/md-store:0.1.0 /k/control.token
    ;;
port)
    [ $# -eq 2 ] || die "usage: podman.sh port SERVICE PORT"
    exec "$podman" port "$(name "$1")" "$2"
    ;;
health)
    [ $# -eq 1 ] || die "usage: podman.sh health SERVICE"
    if health "$1"; then echo "$1 healthy"; else echo "$1 not healthy"; exit 1; fi
    ;;
*)
    sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
    [ -z "$cmd" ] || exit 2
    ;;
esac
