#!/usr/bin/env bash
# bench/http.sh — read throughput of the shell: /healthz, /stock/{sku} and /v1/search over HTTP/1.1
# (wrk -t1 -c50) and HTTP/2 (h2load -c50 -m10), with 1 and with 2 loop threads (LARDER_THREADS),
# every figure in the same run; /stock/{sku} is shown as a share of /healthz (the bar is 85 %).
# Stock reads rotate over 1,000 SKUs of the 50,000-SKU catalog; search is one cached query.
# usage: bench/http.sh [DURATION]   (default 4 s per figure; needs wrk and h2load)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-4}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

bench_catalog
skus=$(awk -F'"' 'NR <= 1000 {printf "%s\"%s\"", sep, $4; sep=","}' "$bench_data/catalog.jsonl")
cat >"$tmp/stock.lua" <<LUA
local skus = {$skus}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/stock/" .. skus[(n % #skus) + 1])
end
LUA
awk -F'"' 'NR <= 1000 {print "/stock/" $4}' "$bench_data/catalog.jsonl" >"$tmp/stock.paths"
search='/v1/search?q=ca+chua&per_page=10'

h1() { wrk -t1 -c50 -d"${dur}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
h2() { h2load -c50 -m10 -D "$dur" "$@" 2>/dev/null | awk '/^finished in/ {print $4}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", 100 * a / b}'; }

echo "http: reads, ${dur}s per figure, 50 connections (HTTP/2: x10 streams), 50,000-SKU catalog"
printf '  %-8s %-9s %12s %12s %12s %10s\n' threads protocol /healthz '/stock/{sku}' /v1/search \
    'stock/hz'
for threads in 1 2; do
    addr=$(bench_start "t$threads" LARDER_THREADS=$threads)
    hz=$(h1 "$addr/healthz")
    st=$(h1 -s "$tmp/stock.lua" "$addr")
    se=$(h1 "$addr$search")
    printf '  %-8s %-9s %12.0f %12.0f %12.0f %9s%%\n' "$threads" HTTP/1.1 "$hz" "$st" "$se" \
        "$(pct "$st" "$hz")"
    hz=$(h2 "$addr/healthz")
    sed "s|^|$addr|" "$tmp/stock.paths" >"$tmp/stock.urls"
    st=$(h2 -i "$tmp/stock.urls")
    se=$(h2 "$addr$search")
    printf '  %-8s %-9s %12.0f %12.0f %12.0f %9s%%\n' "$threads" h2c "$hz" "$st" "$se" \
        "$(pct "$st" "$hz")"
    kill "$(cat "$tmp/t$threads.pid")" 2>/dev/null || true
done
