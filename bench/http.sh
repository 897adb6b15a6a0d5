#!/usr/bin/env bash
# bench/http.sh — read throughput and latency of the shell: /healthz, /stock/{sku} and /v1/search
# over HTTP/1.1 (wrk -t1 -c50) and HTTP/2 (h2load -c50 -m10), with 1 and with 2 loop threads
# (LARDER_THREADS).  ROUNDS rounds run the three routes back to back and the medians are printed,
# so every ratio compares figures measured side by side; /stock/{sku} is shown as a share of
# /healthz (the bar is 85 %).  Stock reads rotate over 1,000 SKUs of the 50,000-SKU catalog
# (HTTP/2: one URL per request from that list; HTTP/1.1: /healthz is asked through a wrk script
# too); search is one cached query.  Any answer that is
# not 2xx fails the run.  Latency: wrk's p50 and p99; h2load prints no percentiles, so its mean.
# usage: bench/http.sh [DURATION] [ROUNDS]   (default 3 s per figure, 3 rounds; needs wrk, h2load)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-3}
rounds=${2:-3}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

bench_catalog
skus=$(awk -F'"' 'NR <= 1000 {printf "%s\"%s\"", sep, $4; sep=","}' "$bench_data/catalog.jsonl")
# wrk: both sides of the ratio make their requests in Lua, which costs wrk a third of its rate
# (measured): a static /healthz against scripted stock reads would compare clients, not routes
cat >"$tmp/stock.lua" <<LUA
local skus = {$skus}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/stock/" .. skus[(n % #skus) + 1])
end
LUA
cat >"$tmp/healthz.lua" <<LUA
request = function()
  return wrk.format("GET", "/healthz")
end
LUA
awk -F'"' 'NR <= 1000 {print "/stock/" $4}' "$bench_data/catalog.jsonl" >"$tmp/stock.paths"
search='/v1/search?q=ca+chua&per_page=10'

# run OUT ARGS...: one figure into $tmp/OUT; a non-2xx answer stops the benchmark
h1() {
    local out=$tmp/$1; shift
    wrk -t1 -c50 -d"${dur}s" --latency "$@" >"$out"
    if grep -q "Non-2xx" "$out"; then echo "bench/http.sh: errors:" >&2; cat "$out" >&2; exit 1; fi
}
h2() {
    local out=$tmp/$1; shift
    h2load -c50 -m10 -D "$dur" "$@" >"$out" 2>&1
    grep -q " 0 4xx, 0 5xx" "$out" || { echo "bench/http.sh: errors:" >&2; cat "$out" >&2; exit 1; }
}
# medians over the rounds of one figure: req/s, then latency in ms
rps() {
    for r in $(seq 1 "$rounds"); do
        awk '/Requests\/sec/ {print $2} /^finished in/ {print $4}' "$tmp/$1.$r"
    done | bench_median
}
lat() { # lat FIGURE p50|p99|mean
    for r in $(seq 1 "$rounds"); do
        case $2 in
        mean) awk '/^time for request:/ {print $4}' "$tmp/$1.$r" ;;
        *) awk -v p="${2#p}%" '$1 == p {print $2}' "$tmp/$1.$r" ;;
        esac
    done | bench_ms | bench_median
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", 100 * a / b}'; }

echo "http: reads, medians of $rounds rounds of ${dur}s per figure, 50 connections (HTTP/2: x10" \
    "streams), 50,000-SKU catalog; req/s, then latency in ms (HTTP/1.1 p50/p99, h2c mean)"
printf '  %-8s %-9s %12s %12s %12s %9s   %-17s %-17s %-17s\n' threads protocol /healthz \
    '/stock/{sku}' /v1/search 'stock/hz' 'healthz lat' 'stock lat' 'search lat'
for threads in 1 2; do
    addr=$(bench_start "t$threads" LARDER_THREADS=$threads)
    sed "s|^|$addr|" "$tmp/stock.paths" >"$tmp/stock.urls"
    for r in $(seq 1 "$rounds"); do
        h1 "h1hz.$r" -s "$tmp/healthz.lua" "$addr"
        h1 "h1st.$r" -s "$tmp/stock.lua" "$addr"
        h1 "h1se.$r" "$addr$search"
        h2 "h2hz.$r" "$addr/healthz"
        h2 "h2st.$r" -i "$tmp/stock.urls"
        h2 "h2se.$r" "$addr$search"
    done
    for proto in h1 h2; do
        hz=$(rps "${proto}hz") st=$(rps "${proto}st") se=$(rps "${proto}se")
        if [ "$proto" = h1 ]; then
            name=HTTP/1.1
            l() { printf '%s/%s' "$(lat "$1" p50)" "$(lat "$1" p99)"; }
        else
            name=h2c
            l() { lat "$1" mean; }
        fi
        printf '  %-8s %-9s %12.0f %12.0f %12.0f %8s%%   %-17s %-17s %-17s\n' "$threads" "$name" \
            "$hz" "$st" "$se" "$(pct "$st" "$hz")" "$(l "${proto}hz")" "$(l "${proto}st")" \
            "$(l "${proto}se")"
    done
    kill "$(cat "$tmp/t$threads.pid")" 2>/dev/null || true
done
