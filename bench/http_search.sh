#!/usr/bin/env bash
# bench/http_search.sh — /v1/search throughput over HTTP/1.1 next to the same server's /healthz.
#
# Starts `larder serve` on the 50,000-SKU catalog twice on free loopback ports (one with the
# search cache, one with LARDER_SEARCH_CACHE=0), then runs wrk (1 thread, 50 connections, DURATION
# seconds each) against /healthz, the search mix of bench/search_mix.lua with the cache, and the
# same mix without it.
# usage: bench/http_search.sh [DURATION]   (default 5; needs build/larder and wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-5}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

rps() { wrk -t1 -c50 -d"${dur}s" "$@" | awk '/Requests\/sec/ {print $2}'; }

cached=$(bench_start cached LARDER_SEARCH_CACHE=4096)
uncached=$(bench_start uncached LARDER_SEARCH_CACHE=0)
healthz=$(rps "$cached/healthz")
hit=$(rps -s bench/search_mix.lua "$cached/")
miss=$(rps -s bench/search_mix.lua "$uncached/")
echo "http_search: wrk -t1 -c50 -d${dur}s, one event-loop thread, demo catalog"
printf '  %-28s %10s req/s\n' "/healthz" "$healthz"
printf '  %-28s %10s req/s  (%s %% of /healthz)\n' "/v1/search mix, cache on" "$hit" \
    "$(awk -v a="$hit" -v b="$healthz" 'BEGIN {printf "%.0f", 100 * a / b}')"
printf '  %-28s %10s req/s  (%s %% of /healthz)\n' "/v1/search mix, cache off" "$miss" \
    "$(awk -v a="$miss" -v b="$healthz" 'BEGIN {printf "%.0f", 100 * a / b}')"
