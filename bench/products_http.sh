#!/usr/bin/env bash
# bench/products_http.sh — catalog writes over HTTP on the 50,000-SKU catalog: how long a PUT takes
# to be durable and searchable (its answer waits for a new view: frozen catalog + rebuilt index),
# how concurrent PUTs share one rebuild, and what searches do meanwhile.
#
#   1. N sequential PUTs from one client: median and max latency (each waits for a full rebuild).
#   2. N PUTs from 8 clients at once: wall time and median latency (waiting writes share builds).
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

addr=$(bench_start products LARDER_SEARCH_CACHE=0)
token=$("$bin" token --role admin --sub bench)
put() { # put ID: upserts BENCH-ID and prints the seconds it took
    curl -s -o /dev/null -w '%{time_total} %{http_code}\n' -X PUT \
        -H "Authorization: Bearer $token" "$addr/v1/products/BENCH-$1" \
        -d "{\"sku\":\"BENCH-$1\",\"name\":{\"en\":\"Bench papaya $1\",\"vi\":\"Đu đủ $1\"},\"category\":\"produce/fruit\",\"price\":$((1000 + $1))}"
}
export -f put
export addr token

for i in $(seq 1 "$n"); do put "$i"; done >"$tmp/seq"
grep -qvE ' 20[01]$' "$tmp/seq" && { echo "bench/products_http.sh: a PUT failed:" >&2; cat "$tmp/seq" >&2; exit 1; }
start=$(date +%s.%N)
seq $((n + 1)) $((2 * n)) | xargs -P 8 -I{} bash -c 'put {}' >"$tmp/par"
wall=$(echo "$(date +%s.%N) - $start" | bc)
grep -qvE ' 20[01]$' "$tmp/par" && { echo "bench/products_http.sh: a PUT failed:" >&2; cat "$tmp/par" >&2; exit 1; }
hits=$(curl -s "$addr/v1/search?q=du%20du%20$((2 * n))" | grep -o "BENCH-$((2 * n))" | head -n 1)
[ "$hits" = "BENCH-$((2 * n))" ] || { echo "bench/products_http.sh: the last PUT is not searchable" >&2; exit 1; }

wrk -t1 -c20 -d"${dur}s" --latency "$addr/v1/search?q=ca%20chua" >"$tmp/alone"
( i=100000; end=$(( $(date +%s) + dur + 1 )); while [ "$(date +%s)" -lt "$end" ]; do put $i >/dev/null; i=$((i + 1)); done ) &
writer=$!
wrk -t1 -c20 -d"${dur}s" --latency "$addr/v1/search?q=ca%20chua" >"$tmp/busy"
wait "$writer"
views=$(curl -s "$addr/metrics" | awk '/^larder_catalog_views_built_total/ {print $2}')

ms() { awk '{printf "%.1f\n", $1 * 1000}'; }
seq_med=$(awk '{print $1}' "$tmp/seq" | bench_median | ms)
seq_max=$(awk '{print $1}' "$tmp/seq" | sort -g | tail -n 1 | ms)
par_med=$(awk '{print $1}' "$tmp/par" | bench_median | ms)
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
echo "product PUT, one client, $n in a row: median ${seq_med} ms, max ${seq_max} ms (durable and searchable on return)"
echo "product PUT, 8 clients, $n at once: ${wall} s in all, median ${par_med} ms each"
echo "search alone: $(rps "$tmp/alone") req/s, p99 $(p99 "$tmp/alone"); while PUTs run: $(rps "$tmp/busy") req/s, p99 $(p99 "$tmp/busy") (ratio $(echo "scale=2; $(rps "$tmp/busy") / $(rps "$tmp/alone")" | bc))"
echo "views built in all: ${views:-?}"
