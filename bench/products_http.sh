#!/usr/bin/env bash
# bench/products_http.sh — catalog writes over HTTP on the 50,000-SKU catalog: how long a PUT takes
# to be durable and searchable (its answer waits for a new view: a frozen catalog and an index),
# side by side for the two ways to make the index: updated from the previous view's (the default)
# and built whole every time (LARDER_INDEX_UPDATE=0).  For each server:
#   1. N sequential PUTs from one client: median and max latency;
#   2. N PUTs from 8 clients at once: wall time and median latency (waiting writes share a view);
#   3. /v1/search (wrk -t1 -c20, one query, cache off) alone, then while a client PUTs in a loop:
#      requests/s and p99 of both, and their ratio.
# usage: bench/products_http.sh [N] [DURATION]   (default 20 PUTs, 5 s; needs wrk and curl)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
dur=${2:-5}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

token=$("$bin" token --role admin --sub bench)
put() { # put ADDR ID: upserts BENCH-ID; prints the seconds it took and the status
    curl -s -o /dev/null -w '%{time_total} %{http_code}\n' -X PUT \
        -H "Authorization: Bearer $token" "$1/v1/products/BENCH-$2" \
        -d "{\"sku\":\"BENCH-$2\",\"name\":{\"en\":\"Bench papaya $2\",\"vi\":\"Đu đủ $2\"},\"category\":\"produce/fruit\",\"price\":$((1000 + $2))}"
}
export -f put
export token
ms() { awk '{printf "%.1f\n", $1 * 1000}'; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
failed() { grep -qvE ' 20[01]$' "$1" && { echo "bench/products_http.sh: a PUT failed:" >&2; cat "$1" >&2; exit 1; } || true; }

measure() { # measure NAME ADDR
    local name=$1 addr=$2
    for i in $(seq 1 "$n"); do put "$addr" "$i"; done >"$tmp/$name.seq"
    failed "$tmp/$name.seq"
    local start wall
    start=$(date +%s.%N)
    seq $((n + 1)) $((2 * n)) | xargs -P 8 -I{} bash -c "put $addr {}" >"$tmp/$name.par"
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    failed "$tmp/$name.par"
    curl -s "$addr/v1/search?q=du%20du%20$((2 * n))" | grep -q "BENCH-$((2 * n))" ||
        { echo "bench/products_http.sh: the last PUT is not searchable" >&2; exit 1; }
    wrk -t1 -c20 -d"${dur}s" --latency "$addr/v1/search?q=ca%20chua" >"$tmp/$name.alone"
    ( i=100000; end=$(( $(date +%s) + dur + 1 ))
      while [ "$(date +%s)" -lt "$end" ]; do put "$addr" $i >/dev/null; i=$((i + 1)); done ) &
    local writer=$!
    wrk -t1 -c20 -d"${dur}s" --latency "$addr/v1/search?q=ca%20chua" >"$tmp/$name.busy"
    wait "$writer"
    local views build
    views=$(curl -s "$addr/metrics" | awk '/^larder_catalog_views_built_total/ {print $2}')
    echo "$name: PUT one client, $n in a row: median $(awk '{print $1}' "$tmp/$name.seq" | bench_median | ms) ms, max $(awk '{print $1}' "$tmp/$name.seq" | sort -g | tail -n 1 | ms) ms"
    echo "$name: PUT 8 clients, $n at once: ${wall} s in all, median $(awk '{print $1}' "$tmp/$name.par" | bench_median | ms) ms each"
    echo "$name: search alone $(rps "$tmp/$name.alone") req/s (p99 $(p99 "$tmp/$name.alone")), while PUTs run $(rps "$tmp/$name.busy") req/s (p99 $(p99 "$tmp/$name.busy")), ratio $(echo "scale=2; $(rps "$tmp/$name.busy") / $(rps "$tmp/$name.alone")" | bc); views built ${views:-?}"
    awk '{print $1}' "$tmp/$name.seq" | bench_median >"$tmp/$name.med"
}

addr=$(bench_start update LARDER_SEARCH_CACHE=0)
measure update "$addr"
kill "$(cat "$tmp/update.pid")"
addr=$(bench_start full LARDER_SEARCH_CACHE=0 LARDER_INDEX_UPDATE=0)
measure full "$addr"
echo "PUT median, full builds / updates: $(echo "scale=1; $(cat "$tmp/full.med") / $(cat "$tmp/update.med")" | bc)x"
