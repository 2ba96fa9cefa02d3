#!/usr/bin/env bash
# points-cells.sh: points → cells per second on one core, side by side:
#   Go   geo.CellAt, Web Mercator zoom 18 (BenchmarkCellAt in geo/bench_test.go)
#   Node h3-js latLngToCell, H3 resolution 10 (bench/h3/bench.js)
# Both convert the same 2^20 points (one LCG, written twice; the checksums must match),
# each pinned to CPU 0 when taskset is there. Prints both rates and their ratio.
#
# Usage: bench/points-cells.sh [benchtime]     (default 3s; needs go, node and npm)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
benchtime=${1:-3s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

# Go: build the test binary first, so only the benchmark runs pinned.
(cd "$root" && go test -c -o "$tmp/geo.test" ./geo)
go_out=$(cd "$root/geo" && "${pin[@]}" "$tmp/geo.test" -test.run '^$' -test.bench '^BenchmarkCellAt$' \
	-test.benchtime "$benchtime" -test.cpu 1 -test.count 1)
go_rate=$(awk '{ for (i = 2; i <= NF; i++) if ($i == "Mpoints/s") r = $(i - 1) } END { print r * 1e6 }' <<<"$go_out")
go_sum=$(grep -o 'checksum [0-9.]*' <<<"$go_out" | head -n 1)

# Node: install h3-js (pinned in package.json / package-lock.json) if it is not there yet.
if [ ! -d "$root/bench/h3/node_modules/h3-js" ]; then
	(cd "$root/bench/h3" && npm install --no-audit --no-fund >/dev/null)
fi
h3_out=$(cd "$root/bench/h3" && "${pin[@]}" node bench.js)
h3_best=$(awk '$1 == "h3-js" && NF == 4 { print $3 }' <<<"$h3_out")
h3_sum=$(grep -o 'checksum [0-9.]*' <<<"$h3_out" | head -n 1)

if [ "$go_sum" != "$h3_sum" ]; then
	echo "the two benchmarks made different points: Go $go_sum, node $h3_sum" >&2
	exit 1
fi
awk -v g="$go_rate" -v h="$h3_best" -v s="$go_sum" 'BEGIN {
	printf "points: 2^20, %s (same in both)\n", s
	printf "Go   geo.CellAt, zoom 18:              %8.2f M points/s\n", g / 1e6
	printf "Node h3-js latLngToCell, res 10:       %8.2f M points/s (best of 5 rounds)\n", h / 1e6
	printf "ratio Go / h3-js:                      %8.1f x\n", g / h
}'
