#!/usr/bin/env bash
# bench/engine_modes.sh — durable stock writes over HTTP/1.1 with the engine on loop 0
# (LARDER_ENGINE=loop, the default) and on a thread of its own (LARDER_ENGINE=thread), side by
# side with Redis under `appendfsync always`, in alternating rounds of the same run.
#
# Two servers (one per mode, each its own data dir on the 50,000-SKU catalog) and one
# redis-server --appendonly yes --appendfsync always; each round runs `wrk -t1 -cCONNS` durable
# adjusts (POST /v1/stock/{sku}/adjust on one SKU) against each server, then `redis-benchmark
# -cCONNS INCRBY` on random keys.  Printed: every round, then the medians and the ratios.  The
# machine is noisy: only figures from one run of this script compare.
# usage: bench/engine_modes.sh [DURATION] [ROUNDS] [CONNS]   (default 5 s, 5 rounds, 50)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-5}
rounds=${2:-5}
conns=${3:-50}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

modes=(loop thread)
declare -A addr
for m in "${modes[@]}"; do addr[$m]=$(bench_start "$m" LARDER_ENGINE="$m"); done
token=$("$bin" token --role service --sub bench)
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
bench_adjust_lua "$tmp/adjust.lua" "$sku" "$token"
bench_redis

echo "engine_modes: durable writes/s, $conns connections, $rounds rounds of ${dur}s"
for r in $(seq 1 "$rounds"); do
    line="  round $r:"
    for m in "${modes[@]}"; do
        wrk -t1 -c"$conns" -d"${dur}s" -s "$tmp/adjust.lua" "${addr[$m]}" >"$tmp/out"
        if grep -q "Non-2xx" "$tmp/out"; then
            echo "bench/engine_modes.sh: larder ($m) answered errors:" >&2; cat "$tmp/out" >&2; exit 1
        fi
        rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$tmp/out")
        echo "$rps" >>"$tmp/$m.rps"
        line+=" $m $rps"
    done
    redis-benchmark -p "$redis_port" -c "$conns" -n $((dur * 80000)) -r 50000 -q \
        INCRBY "stock:__rand_int__" 1 >"$tmp/rout" 2>&1
    rps=$(tr '\r' '\n' <"$tmp/rout" | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' |
        tail -n 1 | awk '{printf "%.0f", $1}')
    echo "$rps" >>"$tmp/redis.rps"
    echo "$line redis $rps"
done
loop=$(bench_median <"$tmp/loop.rps")
thread=$(bench_median <"$tmp/thread.rps")
redis=$(bench_median <"$tmp/redis.rps")
ahead=$(paste "$tmp/loop.rps" "$tmp/thread.rps" | awk '$1 > $2 {n++} END {print n + 0}')
printf '  medians: loop %.0f/s, thread %.0f/s, redis %.0f/s\n' "$loop" "$thread" "$redis"
awk -v l="$loop" -v t="$thread" -v r="$redis" -v a="$ahead" -v n="$rounds" \
    'BEGIN {printf "  ratios: loop/thread %.2f (loop ahead in %d of %d rounds), loop/redis %.2f, thread/redis %.2f\n", l / t, a, n, l / r, t / r}'
