#!/usr/bin/env bash
# run_command.sh: the README's run command, as a user would run it, on free
# loopback ports: tools/run.sh for a few seconds must show the loop working
# (the provider offers 100,000 bars/s to a 20,000 rows/s sink: the store's
# pacing holds the pipeline near the sink's rate, no retry ack, queue bounded)
# and end with every produced bar in the database, a summary and a plot.
set -euo pipefail
src="${MDF_SOURCE_ROOT:?}"
export MDF_BUILD_DIR="${MDF_BUILD_ROOT:?}"
tmp=$(mktemp -d /tmp/mdflow-run-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ports=($(python3 -c 'import socket
ss=[socket.socket() for _ in range(4)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(*[s.getsockname()[1] for s in ss])'))
sed -e "s#tcp://127.0.0.1:5555#tcp://127.0.0.1:${ports[0]}#; s#tcp://127.0.0.1:5556#tcp://127.0.0.1:${ports[1]}#" \
    -e "s#127.0.0.1:9101#127.0.0.1:${ports[2]}#; s#run/data/bars.db#$tmp/bars.db#" \
    "$src/tools/demo/store.toml" >"$tmp/store.toml"
sed -e "s#tcp://127.0.0.1:5555#tcp://127.0.0.1:${ports[0]}#; s#tcp://127.0.0.1:5556#tcp://127.0.0.1:${ports[1]}#" \
    -e "s#127.0.0.1:9102#127.0.0.1:${ports[3]}#" \
    "$src/tools/demo/pipeline.toml" >"$tmp/pipeline.toml"

cd "$src"
timeout 120 tools/run.sh --duration 6 --out "$tmp/out" \
    --store-config "$tmp/store.toml" --pipeline-config "$tmp/pipeline.toml" >"$tmp/run.log" 2>&1 || {
    echo "run.sh failed:"; cat "$tmp/run.log"; exit 1; }
cat "$tmp/run.log" | tail -n 12

fail () { echo "FAIL: $*"; exit 1; }
val () { sed -n "s/^$1 *\([0-9?]*\).*/\1/p" "$tmp/run.log" | head -n 1; }
produced=$(val "bars produced (pipeline)")
rows=$(val "rows in the database")
retries=$(val "retry acks")
maxq=$(val "max queue depth")
[ -n "$produced" ] && [ "$produced" -gt 0 ] || fail "no bars produced"
[ "$rows" = "$produced" ] || fail "rows in the database ($rows) != bars produced ($produced)"
[ "$retries" = 0 ] || fail "$retries retry acks: feedback should have prevented them"
[ "$maxq" -lt 10000 ] || fail "queue reached capacity ($maxq)"
secs=$(sed -n 's/^== mdflow run summary (\([0-9.]*\) s) ==.*/\1/p' "$tmp/run.log")
eff=$(sed -n 's/^efficiency *\([0-9.]*\).*/\1/p' "$tmp/run.log")
events=$(val "feedback events")
[ -n "$secs" ] && [ -n "$eff" ] || fail "summary lacks the run time or the efficiency"
# Paced: without feedback the pipeline would offer 100,000 bars/s.
python3 -c "import sys; sys.exit(0 if $produced / $secs <= 50000 else 1)" ||
    fail "pipeline produced $produced bars in $secs s: the store's pacing did not hold it"
# Not starved: the sink was kept busy.
python3 -c "import sys; sys.exit(0 if $eff >= 0.8 else 1)" || fail "efficiency $eff < 0.8: the pipeline was held back too hard"
[ "$events" -ge 3 ] || fail "only $events feedback events: the store did not report while bars flowed"
[ -s "$tmp/out/run.png" ] || fail "no plot written"
echo "run command: $produced bars produced and stored in $secs s (efficiency $eff), max queue $maxq, no retry"
