#!/usr/bin/env bash
# bench/sla.sh — the SLA harness, short: `larder-bench sla` against a server of its own on the
# 50,000-SKU catalog (3 stores), the workload model's mix (docs/WORKLOAD.md) at RATE requests/s
# for SECONDS, open loop.  Prints the report's table; the report, results.json and the charts
# stay in build/sla-bench/.  Fails when the harness cannot run or any request fails or times out;
# a missed latency bound is reported, not failed on (speed is never asserted: this machine is
# shared, and a neighbour's build shows up as latency in an open-loop run).
# The full run (peak rate, capacity search, soak) is in docs/SLA.md and `larder-bench --help`.
# usage: bench/sla.sh [RATE] [SECONDS]   (default 2000 requests/s for 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-2000}
secs=${2:-15}
bin=${LARDER_BIN:-build/larder}
harness=${LARDER_BENCH_BIN:-build/larder-bench}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

addr=$(bench_start sla)
out=build/sla-bench
rm -rf "$out"
rc=0
"$harness" sla --url "$addr" --rate "$rate" --duration "$secs" --out "$out" \
    --catalog "$bench_data/catalog.jsonl" --no-progress || rc=$?
if [ "$rc" -ge 2 ]; then
    echo "bench/sla.sh: larder-bench could not run (exit $rc)" >&2
    exit 1
fi
echo "sla: $rate requests/s for ${secs} s, open loop, 64 connections, 1 load thread; the server" \
    "on the 50,000-SKU catalog (2 loop threads); report in $out/report.md"
grep -E '^\*\*Result|^\| ' "$out/report.md" | cut -d'|' -f2,4,5,7,8,10,12,13,14,16 | sed 's/^/  /'
failed=$(awk -F'|' '/^\| [a-z_]+ \| `/ {n += $7 + $8} END {print n + 0}' "$out/report.md")
if [ "$failed" -ne 0 ]; then
    echo "bench/sla.sh: $failed requests failed or timed out (see $out/report.md)" >&2
    exit 1
fi
[ "$rc" -eq 0 ] || echo "sla: a latency bound was missed in this run (see $out/report.md)"
