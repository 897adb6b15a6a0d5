#!/usr/bin/env bash
# bench/soak.sh — a soak: the server on the 50,000-SKU catalog under a steady mix for SECONDS,
# in WINDOWS equal windows.  In every window two wrk clients run at once, closed loop:
#   - 4 customers checking out one unit again and again (cart PUT + checkout, fake_ok: two durable
#     engine commands per checkout);
#   - 16 connections of storefront and inventory traffic, per 10 requests: 6 searches (a rotation
#     of Vietnamese and English queries, filters and prefixes), 3 stock reads over 1,000 SKUs and
#     1 durable stock adjust (+1, a service token).
# After each window: the requests/s and p99 of both, any non-2xx answer or socket error, and the
# server's resident memory (VmRSS) with the number of orders it holds.  Orders are state kept in
# memory (until issue 7's sink archives them), so RSS grows with them by design: the report
# divides the growth by the orders added, which should stay steady (a leak would not).  The run
# fails on any error answer; it prints the first and last RSS and the range of the p99s.
# Closed loop with a fixed number of clients: about the server's capacity, far above the seed's
# peak (see issue 8 for the open-loop harness at the modelled rate).
# usage: bench/soak.sh [SECONDS] [WINDOWS]   (default 30 s in 6 windows; the 10-minute soak:
#        bench/soak.sh 600 20; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
windows=${2:-6}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT
win=$((secs / windows))
[ "$win" -ge 1 ] || { echo "bench/soak.sh: at least one second per window" >&2; exit 2; }

addr=$(bench_start soak)
pid=$(cat "$tmp/soak.pid")
admin=$("$bin" token --role admin --sub bench)
service=$("$bin" token --role service --sub bench-soak)
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
curl -sf -X POST -H "Authorization: Bearer $admin" "$addr/v1/stock/$sku/receive" \
    -d '{"store":"default","lot":"bench-soak","quantity":100000000}' >/dev/null
bench_checkout_lua "$tmp/checkout.lua" "$sku" 4
skus=$(awk -F'"' 'NR > 1 && NR <= 1001 {printf "%s\"%s\"", sep, $4; sep=","}' "$bench_data/catalog.jsonl")
cat >"$tmp/mix.lua" <<LUA
local skus = {$skus}
local queries = {"ca+chua", "c%C3%A0+chua", "sua+tuoi", "gao+st25", "banh+mi", "rau",
                 "nuoc+m", "bananna", "milk&category=dairy", "tra&in_stock=true&store=default"}
local adjust = '{"delta":1,"reason":"soak"}'
local headers = {["Authorization"] = "Bearer $service", ["Content-Type"] = "application/json"}
local n = 0
request = function()
  n = n + 1
  local k = n % 10
  if k < 6 then
    return wrk.format("GET", "/v1/search?q=" .. queries[(n % #queries) + 1] .. "&per_page=10")
  elseif k < 9 then
    return wrk.format("GET", "/stock/" .. skus[(n % #skus) + 1])
  end
  return wrk.format("POST", "/v1/stock/" .. skus[(n % #skus) + 1] .. "/adjust", headers, adjust)
end
LUA

rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
p99_ms() { awk '$1 == "99%" {print $2}' "$1" | bench_ms; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' "$1"; }
errors() { # non-2xx answers and socket errors of a wrk report
    awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$1"
}

echo "soak: ${secs}s in $windows windows of ${win}s; 4 customers checking out + 16 connections" \
    "of search/stock reads/adjusts (6:3:1), closed loop, 50,000-SKU catalog"
printf '  %-7s %12s %10s %12s %10s %7s %8s %9s\n' window checkouts/s 'p99 ms' 'mix req/s' 'p99 ms' \
    errors 'RSS MB' orders
orders() { curl -s -H "Authorization: Bearer $admin" "$addr/v1/orders?per_page=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p'; }
failed=0 first_rss="" last_rss="" first_orders="" last_orders="" p99s=""
for w in $(seq 1 "$windows"); do
    wrk -t4 -c4 -d"${win}s" --latency -s "$tmp/checkout.lua" "$addr" -- "w$w-" >"$tmp/co.$w" 2>"$tmp/co.$w.err" &
    wrk -t1 -c16 -d"${win}s" --latency -s "$tmp/mix.lua" "$addr" >"$tmp/mix.$w"
    wait
    rss=$(rss_mb)
    e=$(($(errors "$tmp/co.$w") + $(errors "$tmp/mix.$w")))
    [ "$e" -eq 0 ] || failed=1
    # the checkout client counts a cart PUT and a checkout as two requests
    co=$(awk -v r="$(rps "$tmp/co.$w")" 'BEGIN {printf "%.0f", r / 2}')
    o=$(orders)
    printf '  %-7s %12s %10s %12s %10s %7s %8s %9s\n' "$w" "$co" "$(p99_ms "$tmp/co.$w")" \
        "$(rps "$tmp/mix.$w")" "$(p99_ms "$tmp/mix.$w")" "$e" "$rss" "$o"
    [ -n "$first_rss" ] || first_rss=$rss first_orders=$o
    last_rss=$rss last_orders=$o
    p99s="$p99s $(p99_ms "$tmp/mix.$w")"
done
range=$(echo "$p99s" | tr ' ' '\n' | awk 'NF {if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1} END {printf "%s-%s", min, max}')
per=$(awk -v a="$first_rss" -v b="$last_rss" -v x="$first_orders" -v y="$last_orders" \
    'BEGIN {if (y > x) printf "%.0f", (b - a) * 1048576 / (y - x); else print "-"}')
echo "soak: RSS ${first_rss} MB after the first window, ${last_rss} MB after the last" \
    "($per bytes per order added); mix p99 ${range} ms"
if [ "$failed" -ne 0 ]; then
    echo "bench/soak.sh: error answers during the soak:" >&2
    cat "$tmp"/co.*.err >&2
    grep -h -E "Non-2xx|Socket errors" "$tmp"/co.* "$tmp"/mix.* >&2 || true
    exit 1
fi
