#!/bin/sh
# 100,000 subscribed connections (scenario "huge"). Raises the open-files limit as far as this
# user may (a root shell with CAP_SYS_RESOURCE can go beyond the hard limit); every process the
# runner starts also raises its own limit. Where one process may not hold enough descriptors, the
# runner spreads the connections over several Herald nodes (HERALD_BROKER=redis) and generators.
# Usage: bench/huge.sh [--connections N] [--nodes N] [other npm run bench options]
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null
echo "open-files limit: $(ulimit -n)"
cd "$(dirname "$0")/.." || exit 1
exec node --import tsx bench/run.ts --scenario huge "$@"
