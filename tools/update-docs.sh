#!/usr/bin/env bash
# update-docs.sh: rewrite the README's configuration reference from the
# services' settings tables (what tests/docs_check.sh compares against).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${MDF_BUILD_DIR:-build}"
ninja -C "$build" tools/config-reference >/dev/null
"$build/tools/config-reference" >"$build/config-reference.md"
python3 - "$build/config-reference.md" <<'PY'
import sys, re
ref = open(sys.argv[1]).read().rstrip("\n")
text = open("README.md").read()
begin, end = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"
new, n = re.subn(re.escape(begin) + r".*?" + re.escape(end),
                 lambda m: begin + "\n" + ref + "\n" + end, text, flags=re.S)
if n != 1:
    sys.exit("README.md: markers not found")
open("README.md", "w").write(new)
PY
echo "README.md configuration reference updated"
