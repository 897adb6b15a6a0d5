#!/usr/bin/env bash
# bench/stock_http.sh — durable stock writes over HTTP, side by side with Redis under
# `appendfsync always` in the same run.
#
# larder: POST /v1/stock/{sku}/adjust {"delta":1} on one SKU of the 50,000-SKU catalog over
# HTTP/1.1 (wrk -t1 -c50: 50 requests in flight, one per connection), over h2c with 50 requests
# in flight as Redis has (h2load -c5 -m10: 5 connections of 10 streams), and over h2c with 500
# (h2load -c50 -m10); each answer comes after its WAL record is fdatasync'ed.  Redis:
# redis-benchmark -c50 INCRBY on random keys with --appendonly yes --appendfsync always (fsync
# before every reply batch).  Then both again with 200 in flight (wrk -t1 -c200, redis-benchmark
# -c200), where Redis's one thread is the limit.  ROUNDS rounds alternate the six; the medians and
# the ratios are printed.
# The server runs as the environment says (LARDER_ENGINE, LARDER_THREADS: serve --help); the
# header line names both.
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
bench_adjust_lua "$tmp/adjust.lua" "$sku" "$token"
bench_redis
port=$redis_port

for r in $(seq 1 "$rounds"); do
    for c in 50 200; do
        wrk -t1 -c$c -d"${dur}s" --latency -s "$tmp/adjust.lua" "$addr" >"$tmp/wrk$c.$r"
        if grep -q "Non-2xx" "$tmp/wrk$c.$r"; then
            echo "bench/stock_http.sh: larder answered errors:" >&2; cat "$tmp/wrk$c.$r" >&2; exit 1
        fi
    done
    for h in "h2:-c50 -m10" "h2f:-c5 -m10"; do
        # shellcheck disable=SC2086 # the connection and stream flags split on purpose
        h2load ${h#*:} -D "$dur" -d "$tmp/body.json" -H "Authorization: Bearer $token" \
            "$addr/v1/stock/$sku/adjust" >"$tmp/${h%%:*}.$r" 2>&1
        grep -q " 0 4xx, 0 5xx" "$tmp/${h%%:*}.$r" ||
            { echo "bench/stock_http.sh: h2load errors:" >&2; cat "$tmp/${h%%:*}.$r" >&2; exit 1; }
    done
    for c in 50 200; do
        redis-benchmark -p "$port" -c $c -n $((dur * 80000)) -r 50000 -q \
            INCRBY "stock:__rand_int__" 1 >"$tmp/redis$c.$r" 2>&1
    done
done

med() { cat "$@" | bench_median; }
# each_round PREFIX CMD: CMD run on every round's file PREFIX.N, the medians of what it prints
each_round() {
    local f=$1 r; shift
    for r in $(seq 1 "$rounds"); do "$@" <"$tmp/$f.$r"; done | med
}
redis_rps() { tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1; }
redis_p50() { tr '\r' '\n' | sed -n 's/.*p50=\([0-9.]*\) msec.*/\1/p' | tail -n 1; }
wrk_rps() { awk '/Requests\/sec/ {print $2}'; }
wrk_pct() { awk -v p="$1" '$1 == p {print $2}' | bench_ms; }
h2load_rps() { awk '/^finished in/ {print $4}'; }
larder_rps=$(each_round wrk50 wrk_rps)
larder_p50=$(each_round wrk50 wrk_pct 50%)
larder_p99=$(each_round wrk50 wrk_pct 99%)
larder200_rps=$(each_round wrk200 wrk_rps)
larder200_p99=$(each_round wrk200 wrk_pct 99%)
h2_rps=$(each_round h2 h2load_rps)
h2f_rps=$(each_round h2f h2load_rps)
redis_rps=$(each_round redis50 redis_rps)
redis_p50=$(each_round redis50 redis_p50)
redis200_rps=$(each_round redis200 redis_rps)

echo "stock_http: durable writes, medians of $rounds rounds of ${dur}s, $(sed -n "s/.*(HTTP\/1.1 and h2c, \([0-9]*\) loop thread.*/\1/p" "$tmp/stock.out") loop thread(s), LARDER_ENGINE=${LARDER_ENGINE:-loop}"
printf '  %-44s %10.0f /s  p50 %.2f ms  p99 %.2f ms\n' "larder adjust, HTTP/1.1 (wrk, 50 conn)" "$larder_rps" "$larder_p50" "$larder_p99"
printf '  %-44s %10.0f /s\n' "larder adjust, h2c 5 conn x 10 streams (50)" "$h2f_rps"
printf '  %-44s %10.0f /s\n' "larder adjust, h2c 50 conn x 10 streams (500)" "$h2_rps"
printf '  %-44s %10.0f /s  p50 %.2f ms\n' "redis INCRBY, appendfsync always, 50 clients" "$redis_rps" "$redis_p50"
printf '  %-44s %10.0f /s  p99 %.2f ms\n' "larder adjust, HTTP/1.1 (wrk, 200 conn)" "$larder200_rps" "$larder200_p99"
printf '  %-44s %10.0f /s\n' "redis INCRBY, appendfsync always, 200 clients" "$redis200_rps"
# every round's figure, to show the spread the medians hide
spread() {
    local f=$1 r; shift
    for r in $(seq 1 "$rounds"); do "$@" <"$tmp/$f.$r"; done | awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $1}'
}
echo "  rounds: HTTP/1.1 50 [$(spread wrk50 wrk_rps)], redis 50 [$(spread redis50 redis_rps)]," \
    "HTTP/1.1 200 [$(spread wrk200 wrk_rps)], redis 200 [$(spread redis200 redis_rps)]"
awk -v a="$larder_rps" -v f="$h2f_rps" -v b="$h2_rps" -v c="$redis_rps" -v a2="$larder200_rps" -v c2="$redis200_rps" \
    'BEGIN {printf "  ratios to redis at 50 in flight: HTTP/1.1 %.2f, h2c %.2f; HTTP/1.1 at 200: %.2f; h2c with 500 to redis at 50: %.2f\n", a / c, f / c, a2 / c2, b / c}'
