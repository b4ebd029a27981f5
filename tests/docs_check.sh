#!/usr/bin/env bash
# docs_check.sh: the README's configuration reference is the services' own
# settings tables (build/tools/config-reference); fail when they differ, so a
# key added, renamed or re-defaulted in code cannot leave the README behind.
# Regenerate: tools/update-docs.sh
# Then docs_settings.py: the durations the deployment files and their READMEs
# quote for a setting ("every 0.5 s ([store] discover_interval_ms)") are its
# default or the value a shipped config sets.
set -euo pipefail
readme="${MDF_SOURCE_ROOT:?}/README.md"
gen="${MDF_BUILD_ROOT:?}/tools/config-reference"
begin='<!-- config-reference:begin -->'
end='<!-- config-reference:end -->'
grep -qF "$begin" "$readme" || { echo "README.md has no '$begin' marker"; exit 1; }
documented=$(sed -n "/$begin/,/$end/p" "$readme" | sed '1d;$d')
actual=$("$gen")
if [ "$documented" != "$actual" ]; then
    echo "README.md's configuration reference is out of date; run tools/update-docs.sh. Differences:"
    diff <(echo "$documented") <(echo "$actual") || true
    exit 1
fi
echo "README configuration reference matches the settings tables ($(echo "$actual" | grep -c '^| `') keys)"
python3 "$(dirname "$0")/docs_settings.py" <(echo "$actual")
