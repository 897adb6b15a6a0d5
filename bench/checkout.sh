#!/usr/bin/env bash
# bench/checkout.sh — checkouts end to end over HTTP/1.1 with the fake payment provider, on the
# 50,000-SKU catalog.  Each of C wrk connections (one per wrk thread, so its requests go one after
# the other) is a customer who puts one unit of a well-stocked product in the cart and checks out
# (pickup, fake_ok), again and again, each checkout under a new Idempotency-Key: an ORDER_PLACE
# and an ORDER_PAID, both durable before the 201.  Reported: checkouts/s, and the server's own
# checkout latency from its /metrics histogram (p50, p99 as the bucket bounds that hold them).
# usage: bench/checkout.sh [DURATION] [CONNECTIONS]   (default 10 s, 8; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10}
conns=${2:-8}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

addr=$(bench_start checkout)
admin=$("$bin" token --role admin --sub bench)
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
curl -sf -X POST -H "Authorization: Bearer $admin" "$addr/v1/stock/$sku/receive" \
    -d '{"store":"default","lot":"bench-checkout","quantity":100000000}' >/dev/null
bench_checkout_lua "$tmp/checkout.lua" "$sku" "$conns"
wrk -t"$conns" -c"$conns" -d"${dur}s" --latency -s "$tmp/checkout.lua" "$addr" >"$tmp/wrk"
if grep -q "Non-2xx" "$tmp/wrk"; then
    echo "bench/checkout.sh: larder answered errors:" >&2; cat "$tmp/wrk" >&2; exit 1
fi
curl -s "$addr/metrics" >"$tmp/metrics"
route='route="POST /v1/checkout"'
count=$(awk -v r="$route" 'index($0, "larder_http_request_duration_seconds_count{" r) {print $NF}' "$tmp/metrics")
paid=$(curl -s -H "Authorization: Bearer $admin" "$addr/v1/orders?status=paid&per_page=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
quantile() { # the upper bound of the bucket holding quantile $1 of the checkout latencies
    awk -v r="$route" -v q="$1" -v n="$count" '
        index($0, "larder_http_request_duration_seconds_bucket{" r) {
            match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
            if (!done && $NF >= q * n) { print le * 1000; done = 1 }
        }' "$tmp/metrics"
}
rps=$(awk -v c="$count" -v d="$dur" 'BEGIN {printf "%.0f", c / d}')
echo "checkout: $count checkouts in ${dur} s over $conns connections: $rps checkouts/s ($paid orders paid)"
echo "checkout: server latency p50 <= $(quantile 0.5) ms, p99 <= $(quantile 0.99) ms (bucket bounds); client view of cart PUT + checkout requests:"
grep -E "^ +(50|99)%|Requests/sec" "$tmp/wrk"
