#!/usr/bin/env bash
# bench/tail.sh — the one-connection latency tail of durable writes, larder beside Redis, each
# alone and each beside one CPU-bound process.
#
# One client (build/bench/pingpong) on one keep-alive connection sends N writes one at a time:
# larder POST /v1/stock/{sku}/adjust {"delta":1,"reason":"bench"} (answered once fdatasync'ed),
# Redis INCRBY under --appendfsync always.  Each round runs the four in turn: larder, Redis, then
# both again while `sh -c 'while :; do :; done'` spins on a CPU.  Printed: the medians over the
# rounds of p50, p99, p99.9, the requests over 2 ms and the median time between two such in a row,
# and the server's CPU time a request (all its threads, from /proc/PID/stat).
#
# What it shows on a machine whose CPU time is capped (docs/PERFORMANCE.md, session 7, "the
# one-connection tail"): requests over 2 ms come every ~100 ms, the period of the cap, once the
# machine's use passes it, for Redis too when a spinner pushes it there.
# usage: bench/tail.sh [N] [ROUNDS]   (default 15,000 writes, 3 rounds; needs redis-server)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-15000}
rounds=${2:-3}
bin=${LARDER_BIN:-build/larder}
pingpong=build/bench/pingpong
[ -x "$pingpong" ] || make --no-print-directory "$pingpong" >/dev/null
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

addr=$(bench_start tail)
larder_pid=$(cat "$tmp/tail.pid")
token=$("$bin" token --role service --sub bench)
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
body='{"delta":1,"reason":"bench"}'
printf 'POST /v1/stock/%s/adjust HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$sku" "$token" "${#body}" "$body" >"$tmp/larder.req"
# RESP: INCRBY stock:0001 1 ($6 and the like are lengths, not variables)
# shellcheck disable=SC2016
printf '*3\r\n$6\r\nINCRBY\r\n$10\r\nstock:0001\r\n$1\r\n1\r\n' >"$tmp/redis.req"

bench_redis
port=$redis_port

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run NAME ADDR REQ PID: one pingpong run, its line and the server's CPU µs a request appended
run() {
    local t0 t1
    t0=$(cpu_ticks "$4")
    "$pingpong" "$2" "$n" "$3" 2 >"$tmp/line"
    t1=$(cpu_ticks "$4")
    echo "$(cat "$tmp/line") cpu $(((t1 - t0) * 1000000 / $(getconf CLK_TCK) / n))" >>"$tmp/res_$1"
}
for _ in $(seq 1 "$rounds"); do
    run larder "${addr#http://}" "$tmp/larder.req" "$larder_pid"
    run redis "127.0.0.1:$port" "$tmp/redis.req" "$redis_pid"
    sh -c 'while :; do :; done' &
    spin=$!
    pids+=("$spin") # cleaned up with the servers if a run fails
    run larder_spin "${addr#http://}" "$tmp/larder.req" "$larder_pid"
    run redis_spin "127.0.0.1:$port" "$tmp/redis.req" "$redis_pid"
    kill "$spin"
    wait "$spin" 2>/dev/null || true
done

# field NAME WORD: the median over the rounds of the number after WORD in NAME's lines
field() {
    awk -v w="$2" '{for (i = 1; i < NF; i++) if ($i == w) print $(i + 1)}' "$tmp/res_$1" | bench_median
}
slow() { sed -n 's/.*over 2 ms: \([0-9]*\),.*/\1/p' "$tmp/res_$1" | bench_median; }
echo "one connection, $n durable writes one at a time, medians of $rounds rounds (ms; cpu: µs a request)"
printf '%-24s %8s %8s %8s %10s %8s %6s\n' "" p50 p99 p99.9 "over 2 ms" "gap ms" cpu
for s in larder redis larder_spin redis_spin; do
    case $s in
    larder) label="larder" ;;
    redis) label="redis" ;;
    larder_spin) label="larder beside a spinner" ;;
    redis_spin) label="redis beside a spinner" ;;
    esac
    printf '%-24s %8s %8s %8s %10s %8s %6s\n' "$label" "$(field "$s" p50)" "$(field "$s" p99)" \
        "$(field "$s" p99.9)" "$(slow "$s")" "$(field "$s" gap)" "$(field "$s" cpu)"
done
