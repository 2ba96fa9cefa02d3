#!/usr/bin/env bash
# run-all.sh: every side-by-side pair of issue 9 in one invocation, each benchmark run COUNT
# times, medians (and min–max) printed in one table with the ratio (docs/PERFORMANCE.md):
#
#   ingest   BenchmarkPush500 (HTTP + auth + sync engine + folds onto the embedded store)
#            vs BenchmarkRawInsert500 (one insertMany of the same 25 documents, same store)
#   auth     BenchmarkHello (a hello behind the whole middleware stack) vs BenchmarkBareFiber
#   tiles    BenchmarkTileFormat: a full z14 tile (256 cells) as MVT vs as GeoJSON, raw/gzip
#   codecs   bench/codecs: the JSON work of a 500-fix push, encoding/json vs goccy/go-json vs
#            segmentio/encoding (a module of its own); sync BenchmarkDecodePush500 (the
#            server's decode path as it is)
#   cells    bench/points-cells.sh: geo.CellAt vs h3-js latLngToCell in node (npm installs
#            h3-js on first use)
#
# Single-threaded pairs (auth, tiles, codecs, cells) run pinned to one CPU (taskset -c
# $PIN_CPU) with GOMAXPROCS 1; the ingest pair runs unpinned (the embedded store has its own
# goroutines), interleaved run by run so that load from elsewhere hits both alike.
#
# Usage: bench/run-all.sh [count] [benchtime]    (defaults 5 and 1s; count ≥ 3)
#        ONLY="auth tiles" bench/run-all.sh      (a subset: ingest auth tiles codecs cells)
# Needs go; node and npm for the cells row (skipped with a note if absent). Raw output is
# kept in $OUT (default a temporary directory, printed at the end).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-5}
benchtime=${2:-1s}
only=${ONLY:-ingest auth tiles codecs cells}
pin_cpu=${PIN_CPU:-0}
if [ "$count" -lt 3 ]; then
	echo "count must be 3 or more (medians)" >&2
	exit 2
fi
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$pin_cpu"); fi
want() { [[ " $only " == *" $1 "* ]]; }

# bench BIN DIR PATTERN FILE [pinned]: run the benchmarks matching PATTERN once, append to FILE.
bench() {
	local bin=$1 dir=$2 pat=$3 file=$4 pinned=${5:-}
	local cmd=("$bin" -test.run '^$' -test.bench "$pat" -test.benchtime "$benchtime" -test.count 1)
	if [ -n "$pinned" ]; then cmd=("${pin[@]}" "${cmd[@]}" -test.cpu 1); fi
	(cd "$dir" && "${cmd[@]}") | grep '^Benchmark' >>"$file"
}

# stat FILE NAME UNIT: "median min max" of UNIT over the lines of benchmark NAME (-N suffix
# ignored).
stat() {
	awk -v name="$2" -v unit="$3" '
		{ n = $1; sub(/-[0-9]+$/, "", n) }
		n == name { for (i = 3; i <= NF; i++) if ($i == unit) v[k++] = $(i - 1) }
		END {
			if (k == 0) { print "nan nan nan"; exit }
			for (i = 0; i < k; i++) for (j = i + 1; j < k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			m = (k % 2) ? v[int(k / 2)] : (v[k / 2 - 1] + v[k / 2]) / 2
			print m, v[0], v[k - 1]
		}' "$1"
}

rows=()
row() { rows+=("$(printf '%s\t%s\t%s\t%s\t%s' "$@")"); }
fmt() { awk -v m="$1" -v lo="$2" -v hi="$3" -v d="${4:-0}" 'BEGIN { printf "%.*f (%.*f–%.*f)", d, m, d, lo, d, hi }'; }

echo "building test binaries (out: $out)" >&2
(cd "$root" && go test -c -o "$out/handlers.test" ./handlers && go test -c -o "$out/sync.test" ./sync)
if want codecs; then (cd "$root/bench/codecs" && go test -c -o "$out/codecs.test" .); fi

if want ingest; then
	echo "ingest: Push500 vs RawInsert500, $count × interleaved" >&2
	for _ in $(seq "$count"); do
		bench "$out/handlers.test" "$root/handlers" '^BenchmarkPush500$' "$out/ingest.txt"
		bench "$out/handlers.test" "$root/handlers" '^BenchmarkRawInsert500$' "$out/ingest.txt"
	done
	read -r pm plo phi < <(stat "$out/ingest.txt" BenchmarkPush500 fixes/s)
	read -r rm rlo rhi < <(stat "$out/ingest.txt" BenchmarkRawInsert500 fixes/s)
	read -r p50 _ _ < <(stat "$out/ingest.txt" BenchmarkPush500 p50-ms)
	read -r p99 _ _ < <(stat "$out/ingest.txt" BenchmarkPush500 p99-ms)
	ratio=$(awk -v a="$pm" -v b="$rm" 'BEGIN { printf "%.0f%%", 100 * a / b }')
	met=$(awk -v a="$pm" -v b="$rm" 'BEGIN { print (a / b >= 0.70) ? "yes" : "no" }')
	row "ingest 500 fixes/push, beatgrid vs raw insertMany (fixes/s)" "$(fmt "$pm" "$plo" "$phi") vs $(fmt "$rm" "$rlo" "$rhi"); push p50 $p50 ms, p99 $p99 ms" "$ratio" "≥ 70%" "$met"
fi

if want auth; then
	echo "auth: Hello (the whole middleware stack) vs BareFiber, $count × interleaved, pinned" >&2
	for _ in $(seq "$count"); do
		bench "$out/handlers.test" "$root/handlers" '^BenchmarkHello$' "$out/auth.txt" pin
		bench "$out/handlers.test" "$root/handlers" '^BenchmarkBareFiber$' "$out/auth.txt" pin
	done
	read -r mm mlo mhi < <(stat "$out/auth.txt" BenchmarkHello ns/op)
	read -r bm blo bhi < <(stat "$out/auth.txt" BenchmarkBareFiber ns/op)
	ratio=$(awk -v a="$mm" -v b="$bm" 'BEGIN { printf "%.0f%%", 100 * b / a }')
	met=$(awk -v a="$mm" -v b="$bm" 'BEGIN { print (b / a >= 0.60) ? "yes" : "no" }')
	row "authenticated hello vs bare Fiber (ns/req, 1 CPU)" "$(fmt "$mm" "$mlo" "$mhi") vs $(fmt "$bm" "$blo" "$bhi"); $(awk -v a="$mm" -v b="$bm" 'BEGIN { printf "%.0f vs %.0f req/s", 1e9 / a, 1e9 / b }')" "$ratio" "≥ 60%" "$met"
fi

if want tiles; then
	echo "tiles: MVT vs GeoJSON, count $count, pinned" >&2
	for _ in $(seq "$count"); do
		bench "$out/handlers.test" "$root/handlers" '^BenchmarkTileFormat$' "$out/tiles.txt" pin
	done
	t() { stat "$out/tiles.txt" "BenchmarkTileFormat/$1" "$2"; }
	read -r mv mvlo mvhi < <(t mvt ns/op)
	read -r mz mzlo mzhi < <(t mvt-gzip ns/op)
	read -r gv gvlo gvhi < <(t geojson ns/op)
	read -r gz gzlo gzhi < <(t geojson-gzip ns/op)
	read -r mb _ _ < <(t mvt bytes)
	read -r mzb _ _ < <(t mvt-gzip bytes)
	read -r gb _ _ < <(t geojson bytes)
	read -r gzb _ _ < <(t geojson-gzip bytes)
	us() { awk -v v="$1" 'BEGIN { printf "%.0f", v / 1000 }'; }
	row "z14 tile, 256 cells: MVT vs GeoJSON, encode time (µs, raw / +gzip)" "$(us "$mv") / $(us "$mz") vs $(us "$gv") / $(us "$gz") µs (ranges: MVT $(us "$mvlo")–$(us "$mvhi"), GeoJSON $(us "$gvlo")–$(us "$gvhi"))" "$(awk -v a="$mz" -v b="$gz" 'BEGIN { printf "%.1f× faster (gzip)", b / a }')" "p99 ≤ 20 ms (tile)" "$(awk -v a="$mz" 'BEGIN { print (a < 20e6) ? "yes" : "no" }')"
	row "z14 tile, 256 cells: MVT vs GeoJSON, bytes (raw / gzip)" "$mb / $mzb vs $gb / $gzb B" "$(awk -v a="$mzb" -v b="$gzb" 'BEGIN { printf "%.1f× smaller (gzip)", b / a }')" "≤ 10 KB gzip (MVT)" "$(awk -v a="$mzb" 'BEGIN { print (a <= 10240) ? "yes" : "no" }')"
fi

if want codecs; then
	echo "codecs: count $count, pinned" >&2
	for _ in $(seq "$count"); do
		bench "$out/codecs.test" "$root/bench/codecs" '^BenchmarkPush500(Codec|DecodeOnly)$' "$out/codecs.txt" pin
		bench "$out/sync.test" "$root/sync" '^BenchmarkDecodePush500$' "$out/codecs.txt" pin
	done
	c() { stat "$out/codecs.txt" "$1" ns/op; }
	read -r sj sjlo sjhi < <(c BenchmarkPush500Codec/encoding-json)
	read -r gj gjlo gjhi < <(c BenchmarkPush500Codec/goccy-go-json)
	read -r sg sglo sghi < <(c BenchmarkPush500Codec/segmentio-encoding)
	read -r dj _ _ < <(c BenchmarkPush500DecodeOnly/encoding-json)
	read -r dg _ _ < <(c BenchmarkPush500DecodeOnly/goccy-go-json)
	read -r ds _ _ < <(c BenchmarkPush500DecodeOnly/segmentio-encoding)
	read -r sv svlo svhi < <(c BenchmarkDecodePush500)
	ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1e6 }'; }
	row "JSON of a 500-fix push (decode + fact + compact), ms: encoding/json vs goccy vs segmentio" "$(ms "$sj") ($(ms "$sjlo")–$(ms "$sjhi")) vs $(ms "$gj") ($(ms "$gjlo")–$(ms "$gjhi")) vs $(ms "$sg") ($(ms "$sglo")–$(ms "$sghi")); decode only $(ms "$dj") vs $(ms "$dg") vs $(ms "$ds")" "$(awk -v a="$sj" -v b="$gj" -v c="$sg" 'BEGIN { printf "goccy %.1f×, segmentio %.1f×", a / b, a / c }')" "faster and as strict" "see TestStrict"
	row "server's push decode as built (sync BenchmarkDecodePush500, ms)" "$(ms "$sv") ($(ms "$svlo")–$(ms "$svhi"))" "" "" ""
fi

if want cells; then
	if command -v node >/dev/null && command -v npm >/dev/null; then
		echo "cells: points-cells.sh × $count" >&2
		for _ in $(seq "$count"); do
			"$root/bench/points-cells.sh" "$benchtime" >>"$out/cells.txt"
		done
		read -r gm glo ghi < <(awk '/^Go /{ for (i = 1; i < NF; i++) if ($(i + 1) == "M") print $i }' "$out/cells.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')
		read -r hm hlo hhi < <(awk '/^Node /{ for (i = 1; i < NF; i++) if ($(i + 1) == "M") print $i }' "$out/cells.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')
		row "points → cells, M points/s, 1 CPU: geo.CellAt z18 vs h3-js res 10" "$(fmt "$gm" "$glo" "$ghi" 2) vs $(fmt "$hm" "$hlo" "$hhi" 2)" "$(awk -v a="$gm" -v b="$hm" 'BEGIN { printf "%.1f×", a / b }')" "" ""
	else
		row "points → cells vs h3-js" "skipped: no node/npm" "" "" ""
	fi
fi

printf '\n| what | figure (median, min–max of %s runs) | ratio | goal | met? |\n|---|---|---|---|---|\n' "$count"
for r in "${rows[@]}"; do
	IFS=$'\t' read -r a b c d e <<<"$r"
	printf '| %s | %s | %s | %s | %s |\n' "$a" "$b" "$c" "$d" "$e"
done
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw output: $out"
