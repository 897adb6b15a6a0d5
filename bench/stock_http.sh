#!/usr/bin/env bash
# bench/stock_http.sh — durable stock writes over HTTP, side by side with Redis under
# `appendfsync always` in the same run.
#
# larder: POST /v1/stock/{sku}/adjust {"delta":1} on one SKU of the 50,000-SKU catalog over
# HTTP/1.1 (wrk -t1 -c50: 50 requests in flight, one per connection), over h2c with 50 requests
# in flight as Redis has (h2load -c5 -m10: 5 connections of 10 streams), and over h2c with 500
# (h2load -c50 -m10); each answer comes after its WAL record is fdatasync'ed.  Redis:
# redis-benchmark -c50 INCRBY on random keys with --appendonly yes --appendfsync always (fsync
# before every reply batch).  ROUNDS rounds alternate the four; the medians and the ratios are
# printed.
# usage: bench/stock_http.sh [DURATION] [ROUNDS]   (default 5 s, 3 rounds; needs wrk, h2load,
#        redis-server and redis-benchmark, which `make deps` installs)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-5}
rounds=${2:-3}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

addr=$(bench_start stock)
token=$("$bin" token --role service --sub bench)
echo '{"delta":1,"reason":"bench"}' >"$tmp/body.json"
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
# A static request: a Lua request() function, which could spread the SKUs, costs wrk about a
# quarter of its rate on this 2-core machine, where wrk shares the cores with the server.
cat >"$tmp/adjust.lua" <<LUA
wrk.method = "POST"
wrk.path = "/v1/stock/$sku/adjust"
wrk.body = '{"delta":1,"reason":"bench"}'
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
LUA

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/redis"
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
    --appendfsync always --save "" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

for r in $(seq 1 "$rounds"); do
    wrk -t1 -c50 -d"${dur}s" --latency -s "$tmp/adjust.lua" "$addr" >"$tmp/wrk.$r"
    if grep -q "Non-2xx" "$tmp/wrk.$r"; then
        echo "bench/stock_http.sh: larder answered errors:" >&2; cat "$tmp/wrk.$r" >&2; exit 1
    fi
    for h in "h2:-c50 -m10" "h2f:-c5 -m10"; do
        # shellcheck disable=SC2086 # the connection and stream flags split on purpose
        h2load ${h#*:} -D "$dur" -d "$tmp/body.json" -H "Authorization: Bearer $token" \
            "$addr/v1/stock/$sku/adjust" >"$tmp/${h%%:*}.$r" 2>&1
        grep -q " 0 4xx, 0 5xx" "$tmp/${h%%:*}.$r" ||
            { echo "bench/stock_http.sh: h2load errors:" >&2; cat "$tmp/${h%%:*}.$r" >&2; exit 1; }
    done
    redis-benchmark -p "$port" -c 50 -n $((dur * 80000)) -r 50000 -q \
        INCRBY "stock:__rand_int__" 1 >"$tmp/redis.$r" 2>&1
done

med() { cat "$@" | bench_median; }
larder_rps=$(for r in $(seq 1 "$rounds"); do awk '/Requests\/sec/ {print $2}' "$tmp/wrk.$r"; done | med)
larder_p50=$(for r in $(seq 1 "$rounds"); do awk '$1 == "50%" {print $2}' "$tmp/wrk.$r"; done | bench_ms | med)
larder_p99=$(for r in $(seq 1 "$rounds"); do awk '$1 == "99%" {print $2}' "$tmp/wrk.$r"; done | bench_ms | med)
h2_rps=$(for r in $(seq 1 "$rounds"); do awk '/^finished in/ {print $4}' "$tmp/h2.$r"; done | med)
h2f_rps=$(for r in $(seq 1 "$rounds"); do awk '/^finished in/ {print $4}' "$tmp/h2f.$r"; done | med)
redis_rps=$(for r in $(seq 1 "$rounds"); do tr '\r' '\n' <"$tmp/redis.$r" | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1; done | med)
redis_p50=$(for r in $(seq 1 "$rounds"); do tr '\r' '\n' <"$tmp/redis.$r" | sed -n 's/.*p50=\([0-9.]*\) msec.*/\1/p' | tail -n 1; done | med)

echo "stock_http: durable writes, medians of $rounds rounds of ${dur}s, $(sed -n "s/.*(HTTP\/1.1 and h2c, \([0-9]*\) loop thread.*/\1/p" "$tmp/stock.out") loop thread(s)"
printf '  %-44s %10.0f /s  p50 %.2f ms  p99 %.2f ms\n' "larder adjust, HTTP/1.1 (wrk)" "$larder_rps" "$larder_p50" "$larder_p99"
printf '  %-44s %10.0f /s\n' "larder adjust, h2c 5 conn x 10 streams (50)" "$h2f_rps"
printf '  %-44s %10.0f /s\n' "larder adjust, h2c 50 conn x 10 streams (500)" "$h2_rps"
printf '  %-44s %10.0f /s  p50 %.2f ms\n' "redis INCRBY, appendfsync always, 50 clients" "$redis_rps" "$redis_p50"
awk -v a="$larder_rps" -v f="$h2f_rps" -v b="$h2_rps" -v c="$redis_rps" \
    'BEGIN {printf "  ratios to redis: HTTP/1.1 %.2f, h2c with 50 in flight %.2f, h2c with 500 %.2f\n", a / c, f / c, b / c}'
