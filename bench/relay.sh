#!/usr/bin/env bash
# bench/relay.sh — events/s through the Kafka relay, and what the relay costs the writes.
#
#   1. backlog: a server without a relay takes N stock adjusts (h2load over h2c) on the 50,000-SKU
#      catalog, so its log holds the seed's StockReceived records and N StockAdjusted ones; it is
#      then served again with LARDER_KAFKA_BROKERS set, and the time from the relay's start to a
#      lag of 0 on /metrics gives the relay's rate (messages and records per second);
#   2. live: the same h2load writes against a server relaying as it goes, next to one without a
#      relay, alternating: durable writes/s of each, and the lag left when the writes stop.
# The broker is `larder dev kafka` (librdkafka's mock cluster, in memory) on the same two cores.
# usage: bench/relay.sh [N] [ROUNDS]   (default 200000 adjusts, 3 rounds; needs h2load, curl)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
rounds=${2:-3}
bin=${LARDER_BIN:-build/larder}
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT

"$bin" dev kafka --partitions 3 >"$tmp/kafka.out" 2>"$tmp/kafka.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^bootstrap:' "$tmp/kafka.out" && break; sleep 0.05; done
brokers=$(awk '/^bootstrap:/ {print $2}' "$tmp/kafka.out")
[ -n "$brokers" ] || { echo "bench/relay.sh: no mock cluster" >&2; cat "$tmp/kafka.err" >&2; exit 1; }

token=$("$bin" token --role service --sub bench)
echo '{"delta":1,"reason":"bench"}' >"$tmp/body.json"
bench_catalog
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
writes() { # writes ADDR COUNT: prints the durable writes/s h2load measured
    h2load -c50 -m10 -n "$2" -d "$tmp/body.json" -H "Authorization: Bearer $token" \
        "$1/v1/stock/$sku/adjust" >"$tmp/h2" 2>&1
    grep -q " 0 4xx, 0 5xx" "$tmp/h2" || { echo "bench/relay.sh: h2load errors:" >&2; cat "$tmp/h2" >&2; exit 1; }
    awk '/^finished in/ {print $4}' "$tmp/h2"
}
stop() { kill "$(cat "$tmp/$1.pid")"; while kill -0 "$(cat "$tmp/$1.pid")" 2>/dev/null; do sleep 0.05; done; }

# 1. the backlog
addr=$(bench_start backlog)
writes "$addr" "$n" >/dev/null
records=$(metric "$addr" larder_wal_durable_lsn)
stop backlog
start=$(date +%s.%N)
env LARDER_KAFKA_BROKERS="$brokers" "$bin" serve --catalog "$bench_data/catalog.jsonl" \
    --data-dir "$tmp/backlog" --listen 127.0.0.1:0 >"$tmp/backlog.out" 2>"$tmp/backlog.err" &
echo $! >"$tmp/backlog.pid"
addr=""
for _ in $(seq 1 600); do
    addr=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$tmp/backlog.out" | head -n 1)
    [ -n "$addr" ] && [ "$(metric "$addr" larder_relay_cursor_lsn)" != "" ] && break
    sleep 0.05
done
relay_start=$(date +%s.%N)
for _ in $(seq 1 6000); do
    [ "$(metric "$addr" larder_outbox_lag_records)" = "0" ] && break
    sleep 0.05
done
done_at=$(date +%s.%N)
[ "$(metric "$addr" larder_outbox_lag_records)" = "0" ] || { echo "bench/relay.sh: the relay did not catch up" >&2; exit 1; }
messages=$(metric "$addr" larder_relay_messages_delivered_total)
stop backlog
awk -v r="$records" -v m="$messages" -v s="$relay_start" -v e="$done_at" -v b="$start" 'BEGIN {
    t = e - s
    printf "relay backlog: %d records, %d messages to the mock cluster in %.2f s (server start to ready %.2f s)\n", r, m, t, s - b
    printf "  %.0f messages/s, %.0f records/s\n", m / t, r / t }'

# 2. live, next to no relay
for r in $(seq 1 "$rounds"); do
    a=$(bench_start "plain$r")
    writes "$a" "$n" >>"$tmp/plain.rps"
    stop "plain$r"
    a=$(bench_start "relayed$r" LARDER_KAFKA_BROKERS="$brokers")
    writes "$a" "$n" >>"$tmp/relayed.rps"
    metric "$a" larder_outbox_lag_records >>"$tmp/relayed.lag"
    stop "relayed$r"
done
plain=$(bench_median <"$tmp/plain.rps")
relayed=$(bench_median <"$tmp/relayed.rps")
lag=$(bench_median <"$tmp/relayed.lag")
echo "relay live: durable adjusts/s over h2c (h2load -c50 -m10 -n $n), medians of $rounds rounds"
printf '  %-34s %10.0f /s\n' "without a relay" "$plain" "relaying to Kafka as it goes" "$relayed"
awk -v a="$relayed" -v b="$plain" -v l="$lag" 'BEGIN {printf "  ratio %.2f; lag when the writes stopped: %d records\n", a / b, l}'
