#!/bin/sh
# skip.sh REASON: a placeholder test for a tool this machine lacks (exit 77 = skipped).
echo "SKIP: $*"
exit 77
