#!/usr/bin/env bash
# Summarise ptxas register/spill reports of the last `--features cuda` build (one line per
# kernel file and arch): the numbers recorded in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
logs=$(ls -t target/*/build/medfm-robust-*/out/*.ptxas.log 2>/dev/null | head -100)
[ -n "$logs" ] || { echo "no ptxas logs: build with --features cuda first" >&2; exit 1; }
newest_dir=$(dirname "$(echo "$logs" | head -1)")
total=0; nonzero=0
for f in "$newest_dir"/*.ptxas.log; do
  n=$(grep -c "spill stores" "$f" || true)
  z=$(grep "spill stores" "$f" | grep -vc " 0 bytes spill stores, 0 bytes spill loads" || true)
  total=$((total + n)); nonzero=$((nonzero + z))
  printf '%-14s %3d kernel/arch reports, %d with spills\n' "$(basename "$f" .ptxas.log)" "$n" "$z"
done
echo "total: $total kernel/arch reports, $nonzero with spills"
