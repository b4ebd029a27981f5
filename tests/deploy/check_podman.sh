#!/usr/bin/env bash
# check_podman.sh: docker/podman.sh drives the real podman-compose the way
# deploy/README.md ("Podman") says, without running a container (meson test
# deploy-podman, suite deploy).
#
# podman-compose 1.0.x runs the compose file for real; `podman` itself is a
# stand-in that logs each call (with BUILDAH_FORMAT) and answers as podman
# would: `wait` says 0, `healthcheck run` healthy, `run` of the token command
# prints a token.  Checked:
# - images are built in Docker format (BUILDAH_FORMAT=docker: podman's OCI
#   default drops the HEALTHCHECK), every container is created before any
#   starts, and they start in the order of the depends_on conditions, each
#   after the one it waits for exited 0 (keys) or passed its health check
#   (postgres, store, pipeline);
# - the store and pipeline containers get their compose health checks;
# - `down` stops with the longest stop_grace_period (podman-compose ignores
#   it and would stop after 10 s, short of the store's 30 s drain);
# - `token` prints the token and nothing else (TOKEN=$(...) works), read from
#   the project's pipeline-key volume.
# Skips (77) without podman-compose.
set -euo pipefail
src=${MDF_SOURCE_ROOT:?}
command -v podman-compose >/dev/null || { echo "SKIP: podman-compose not installed"; exit 77; }
tmp=$(mktemp -d /tmp/mdflow-podman-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/podman.log

cat >"$tmp/podman" <<'EOF'
#!/bin/sh
# stand-in podman: log the call, answer like podman
echo "podman $* | BUILDAH_FORMAT=${BUILDAH_FORMAT:-}" >>"$PODMAN_LOG"
case "$1 ${2:-}" in
    "--version "*) echo "podman version 4.3.1" ;;
    "wait "*) echo 0 ;;
    "inspect "*) echo true ;;
    "port "*) echo "127.0.0.1:40123" ;;
    "run "*) echo "c3R1Yi10b2tlbi1mb3ItdGhlLXRlc3Q=" ;;
esac
exit 0
EOF
chmod +x "$tmp/podman"
export PODMAN_LOG=$log PODMAN=$tmp/podman PODMAN_COMPOSE="podman-compose --podman-path $tmp/podman"
export COMPOSE_PROJECT_NAME=mdfpodtest
fail () { echo "FAIL: $*"; echo "--- podman calls:"; cat "$log"; exit 1; }

timeout 120 "$src/docker/podman.sh" up >"$tmp/up.out" 2>&1 || { cat "$tmp/up.out"; fail "podman.sh up failed"; }

# Images built in Docker format, each build.
builds=$(grep -c '^podman build ' "$log" || true)
[ "$builds" -ge 2 ] || fail "podman.sh up built $builds images, want the store and pipeline images"
if grep '^podman build ' "$log" | grep -qv 'BUILDAH_FORMAT=docker$'; then
    fail "an image was built without BUILDAH_FORMAT=docker: it would lose its HEALTHCHECK"
fi

# Every container created, before any starts; then started in order.
services="keys postgres store pipeline prometheus grafana"
for s in $services; do
    grep -q "^podman create .*--name=mdfpodtest_${s}_1 " "$log" || fail "no container created for $s"
done
first_start=$(grep -n '^podman start ' "$log" | head -n 1 | cut -d: -f1)
last_create=$(grep -n '^podman create ' "$log" | tail -n 1 | cut -d: -f1)
if [ -z "$first_start" ] || [ "$last_create" -gt "$first_start" ]; then
    fail "containers started before all were created (podman-compose's own start ignores depends_on conditions)"
fi
line () { { grep -n "^podman $1" "$log" || true; } | head -n 1 | cut -d: -f1; }
prev=0
prev_what="the first start"
for s in $services; do
    n=$(line "start mdfpodtest_${s}_1 ")
    [ -n "$n" ] || fail "$s never started"
    [ "$n" -gt "$prev" ] || fail "$s started before $prev_what"
    case $s in
    keys) prev=$(line "wait mdfpodtest_keys_1 "); prev_what="keys exited 0" ;;
    *) prev=$(line "healthcheck run mdfpodtest_${s}_1 "); prev_what="$s passed its health check" ;;
    esac
    if [ -z "$prev" ] || [ "$prev" -lt "$n" ]; then fail "podman.sh up did not wait for $s ($prev_what)"; fi
done
for s in store pipeline; do
    grep "^podman create .*--name=mdfpodtest_${s}_1 " "$log" | grep -q -- "--healthcheck-command" ||
        fail "the $s container has no health check"
done

# down: the longest grace period, not podman-compose's 10 s.
: >"$log"
timeout 60 "$src/docker/podman.sh" down >"$tmp/down.out" 2>&1 || { cat "$tmp/down.out"; fail "podman.sh down failed"; }
grace=$(sed -n 's/^ *stop_grace_period: *\([0-9]*\)s *$/\1/p' "$src/docker/docker-compose.yml" | sort -n | tail -n 1)
grep -q "^podman stop -t $grace mdfpodtest_store_1 " "$log" ||
    fail "down does not stop the store with the ${grace} s stop_grace_period: $(grep 'stop .*store' "$log")"

# token: the token alone on stdout, from the project's volume.
: >"$log"
token=$("$src/docker/podman.sh" token)
[ "$token" = "c3R1Yi10b2tlbi1mb3ItdGhlLXRlc3Q=" ] || fail "token printed '$token', want the token alone"
grep -q "^podman run .*-v mdfpodtest_pipeline-key:/k:ro .*/k/control.token " "$log" ||
    fail "token does not read the project's pipeline-key volume"

port=$("$src/docker/podman.sh" port store 9101)
[ "$port" = "127.0.0.1:40123" ] || fail "port printed '$port'"
echo "podman.sh: $builds Docker-format builds, 6 containers created then started in depends_on order" \
    "with health waits, down -t $grace, token and port clean"
