#!/bin/bash
# check_configs.sh: the shipped configs load in the real binaries, with real keys.
#
# The shipped TOMLs (docker/config/*.toml and the ConfigMaps' TOMLs) have
# CurveZMQ on, with key files under /run/secrets/mdflow/ that only exist once
# deployed, and the pipeline's [http] control_token_file (the bearer token for
# POST /control/*) next to its keys.  `check_deploy.py --stage-keys` makes them
# as a user would: it runs the compose one-shot `keys` service's command and
# deploy/README.md's keys block (a stand-in `kubectl` writes each Secret to a
# directory), both with the built `mdctl keygen` (and /dev/urandom for the
# token); lays the files out as the compose volumes and the Kubernetes Secret
# (and projected) volumes would mount them; checks that the keys pair up, that
# the token is one the pipeline takes (32+ random bytes; 0400 in compose) and
# that a second deployment gets other keys and another token; and writes
# copies of the TOMLs whose key and token paths point there (nothing else
# changed).  Then `md-store --config FILE --check-config` (and md-pipeline for
# the pipeline configs, which must show the token file in use) must exit 0 on
# each copy.  check_deploy.py only knows which keys may be set; this
# catches values and keys the services reject, key or token paths that name
# no file the deployment makes, keys that are not zcert files and tokens the
# pipeline refuses.  The services' environment is scrubbed of MDS_*/MDP_* so only
# the files count.  Exits 77 (skip) while the binaries are not built.
# Usage: check_configs.sh PYTHON CHECK_DEPLOY_PY   (env MDF_SOURCE_ROOT, MDF_BUILD_ROOT)

set -u
PY=${1:?python} CHECK=${2:?check_deploy.py}
SRC=${MDF_SOURCE_ROOT:?MDF_SOURCE_ROOT not set}
BUILD=${MDF_BUILD_ROOT:?MDF_BUILD_ROOT not set}
STORE_BIN=$BUILD/store/md-store
PIPE_BIN=$BUILD/pipeline/md-pipeline
if [ ! -x "$STORE_BIN" ] || [ ! -x "$PIPE_BIN" ] || [ ! -x "$BUILD/tools/mdctl" ]; then
    echo "SKIP: $STORE_BIN / $PIPE_BIN / $BUILD/tools/mdctl not built yet"
    exit 77
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
UNSET=$(env | sed -n 's/^\(MD[SP]_[A-Za-z0-9_]*\)=.*/-u \1/p')
# shellcheck disable=SC2086
staged=$(env $UNSET MDF_SOURCE_ROOT="$SRC" "$PY" "$CHECK" --stage-keys "$TMP/keys")
rc=$?
if [ "$rc" != 0 ]; then
    echo "$staged" | sed -n 's/^problem: /FAIL: /p'
    echo "FAIL: cannot make and lay out the keys (check_deploy.py --stage-keys, exit $rc)"
    exit 1
fi

failures=0
check() { # check BINARY FILE [REGEX the output must match]
    local out rc
    # shellcheck disable=SC2086
    out=$(cd "$TMP" && env $UNSET timeout 20 "$1" --config "$2" --check-config 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [ -n "${3:-}" ] && ! grep -qE "$3" <<< "$out"; then
        echo "FAIL $(basename "$1") --check-config $(basename "$2"): no line matching '$3'"
        echo "$out" | sed 's/^/     /'
        failures=$((failures + 1))
    elif [ "$rc" = 0 ]; then
        echo "ok   $(basename "$1") --check-config $(basename "$2")"
    else
        echo "FAIL $(basename "$1") --check-config $(basename "$2"): exit $rc"
        echo "$out" | sed 's/^/     /'
        failures=$((failures + 1))
    fi
}
nstore=0 npipe=0
while read -r role file; do
    case "$role" in
        store) nstore=$((nstore + 1)); check "$STORE_BIN" "$file" ;;
        pipeline) npipe=$((npipe + 1))
                  check "$PIPE_BIN" "$file" '^http\.control_token_file = "/[^"]+"' ;;
        *) echo "FAIL: unexpected line from --stage-keys: $role $file"; failures=$((failures + 1)) ;;
    esac
done <<< "$staged"
# compose and the ConfigMaps: two of each at least.
if [ "$nstore" -lt 2 ] || [ "$npipe" -lt 2 ]; then
    echo "FAIL: expected the compose and ConfigMap TOMLs of both services, got $nstore store / $npipe pipeline"
    exit 1
fi
[ "$failures" = 0 ] || exit 1
exit 0
