#!/bin/bash
# check_configs.sh: the shipped configs load in the real binaries.
#
# Runs `md-store --config FILE --check-config` on docker/config/store.toml and
# the store ConfigMap's TOML, and the same with md-pipeline for the pipeline
# configs: each must exit 0.  check_deploy.py only knows the keys DESIGN.md
# fixes; this catches values and keys the services themselves reject.
# The services' environment is scrubbed of MDS_*/MDP_* so only the files count.
# Exits 77 (skip) while the binaries are not built.
# Usage: check_configs.sh PYTHON CHECK_DEPLOY_PY   (env MDF_SOURCE_ROOT, MDF_BUILD_ROOT)

set -u
PY=${1:?python} CHECK=${2:?check_deploy.py}
SRC=${MDF_SOURCE_ROOT:?MDF_SOURCE_ROOT not set}
BUILD=${MDF_BUILD_ROOT:?MDF_BUILD_ROOT not set}
STORE_BIN=$BUILD/store/md-store
PIPE_BIN=$BUILD/pipeline/md-pipeline
if [ ! -x "$STORE_BIN" ] || [ ! -x "$PIPE_BIN" ]; then
    echo "SKIP: $STORE_BIN / $PIPE_BIN not built yet"
    exit 77
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" "$CHECK" --extract-configmaps "$TMP" || { echo "FAIL: cannot extract the ConfigMap TOMLs"; exit 1; }
UNSET=$(env | sed -n 's/^\(MD[SP]_[A-Za-z0-9_]*\)=.*/-u \1/p')

failures=0
check() { # check BINARY FILE
    local out rc
    # shellcheck disable=SC2086
    out=$(cd "$TMP" && env $UNSET timeout 20 "$1" --config "$2" --check-config 2>&1)
    rc=$?
    if [ "$rc" = 0 ]; then
        echo "ok   $(basename "$1") --check-config $2"
    else
        echo "FAIL $(basename "$1") --check-config $2: exit $rc"
        echo "$out" | sed 's/^/     /'
        failures=$((failures + 1))
    fi
}
check "$STORE_BIN" "$SRC/docker/config/store.toml"
check "$PIPE_BIN" "$SRC/docker/config/pipeline.toml"
found=0
for f in "$TMP"/*--*.toml; do
    [ -e "$f" ] || continue
    found=$((found + 1))
    case "$(basename "$f")" in
        *store*) check "$STORE_BIN" "$f" ;;
        *pipeline*) check "$PIPE_BIN" "$f" ;;
        *) echo "FAIL: $f is neither a store nor a pipeline config"; failures=$((failures + 1)) ;;
    esac
done
[ "$found" -ge 2 ] || { echo "FAIL: expected the store and pipeline ConfigMap TOMLs, found $found"; exit 1; }
[ "$failures" = 0 ] || exit 1
exit 0
