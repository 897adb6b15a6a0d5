#!/usr/bin/env bash
# bench/peers.sh — larder next to two peers in one run, on the same data and requests.
#
# Search: the 50,000-SKU catalog loaded into PostgreSQL (a throwaway cluster on a free loopback
# port) with a tsvector over the English and Vietnamese names (weight A) and the brand and
# category (B), folded with `unaccent`, under a GIN index; a query is the words of the search
# text ANDed, the last one as a prefix (`ca & chu:*`), ranked by ts_rank, 20 rows.  The queries
# are the harness's own (`larder-bench queries`: English, Vietnamese with and without
# diacritics, typos, prefixes), their text only (filters dropped).  Both sides closed loop with
# 16 connections for SECONDS: larder through wrk with the response cache off and on, PostgreSQL
# through pgbench (latencies from its per-transaction log).  PostgreSQL has no typo tolerance:
# the typo queries find nothing there, which makes them cheap.
# Stock: a reservation made durable before its answer.  larder: POST /v1/stock/{sku}/adjust
# {"delta":-1} (wrk, 50 connections) on a product with a large lot; Redis (`--appendfsync
# always`): a Lua script that checks the available quantity and moves one unit to reserved, on
# random keys (redis-benchmark, 50 connections).
# Relevance: the relevance suite's own catalog (tests/unit/index/relevance_catalog.h, 52
# products) and its "these SKUs within the top n" judgments (tests/unit/index/search.c), asked of
# larder over HTTP and of the same PostgreSQL query: how many hold on each.
# Peers that are not installed are skipped with a note.
# usage: bench/peers.sh [SECONDS]   (default 5; needs wrk, python3; psql, pgbench and the
#        PostgreSQL server with contrib; redis-server and redis-benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-5}
bin=${LARDER_BIN:-build/larder}
harness=${LARDER_BENCH_BIN:-build/larder-bench}
tmp=$(mktemp -d)
. bench/lib.bash
pg_stop=""
peers_cleanup() {
    [ -z "$pg_stop" ] || eval "$pg_stop" >/dev/null 2>&1 || true
    bench_cleanup
}
trap peers_cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pct() { sort -n | awk -v q="$1" '{a[NR] = $1} END {i = int(q * NR + 0.999999); if (i < 1) i = 1; print a[i]}'; }

bench_catalog
# The relevance suite's hand-written catalog and its TOP judgments ("these SKUs within the top n")
# without options, from tests/unit/index/ (the C sources stay the one place they are written).
python3 - "$tmp/rel.jsonl" "$tmp/judged.tsv" <<'PY'
import re, sys
src = open("tests/unit/index/search.c", encoding="utf-8").read()
body = src[src.index("small_judgments[] = {"):]
body = body[:body.index("\n};")]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for q, n, skus in re.findall(r'\{"((?:[^"\\]|\\.)*)", "", TOP, (\d+), "([A-Z0-9 -]+)", NULL\}', body):
        if "\\" not in q:  # escaped spellings (NFD) stay in the C suite
            out.write("%s\t%s\t%s\n" % (q, n, skus))
hdr = open("tests/unit/index/relevance_catalog.h", encoding="utf-8").read()
text = b""
for line in re.findall(r'^    ("(?:.*)")\s*;?$', hdr, re.M):
    for piece in re.findall(r'"((?:[^"\\]|\\.)*)"', line):
        # C escapes (\", \xcc) to bytes; the UTF-8 around them passes through unchanged
        text += piece.encode("utf-8").decode("unicode_escape").encode("latin-1")
open(sys.argv[1], "wb").write(text)
PY
# judge LABEL CMD...: runs CMD "QUERY" N for every judgment (CMD prints the SKUs it ranks in the
# top N, one a line) and prints how many judgments hold
judge() {
    local label=$1 held=0 total=0 q n skus got s ok
    shift
    while IFS=$'\t' read -r q n skus; do
        got=$("$@" "$q" "$n") || return 1
        ok=1
        for s in $skus; do grep -qx -- "$s" <<<"$got" || ok=0; done
        held=$((held + ok)) total=$((total + 1))
    done <"$tmp/judged.tsv"
    printf '  %-46s %d of %d judgments hold\n' "$label" "$held" "$total"
}
larder_top() { # the SKUs of larder's top N for QUERY
    curl -sf -G "$rel/v1/search" --data-urlencode "q=$1" --data "per_page=$2" |
        python3 -c 'import json, sys; [print(h["sku"]) for h in json.load(sys.stdin)["hits"]]'
}
"$harness" queries --catalog "$bench_data/catalog.jsonl" --queries 4096 |
    sed 's/&.*//' | sort -u >"$tmp/queries.enc"
python3 -c '
import sys, urllib.parse
for line in sys.stdin:
    q = urllib.parse.parse_qs(line.strip()).get("q", [""])[0]
    print(q.replace("\\", " ").replace("\t", " "))' <"$tmp/queries.enc" >"$tmp/queries.txt"
nq=$(wc -l <"$tmp/queries.txt")
{
    printf 'local qs = {'
    sed 's/.*/"&",/' "$tmp/queries.enc" | tr -d '\n'
    printf '}\nlocal i = 0\nrequest = function()\n  i = i + 1\n'
    printf '  return wrk.format("GET", "/v1/search?" .. qs[(i %% #qs) + 1] .. "&per_page=20")\nend\n'
} >"$tmp/search.lua"

wrk_line() { # label, wrk output: req/s, p50, p99
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$2")
    p50=$(awk '$1 == "50%" {print $2}' "$2" | bench_ms)
    p99=$(awk '$1 == "99%" {print $2}' "$2" | bench_ms)
    if grep -q "Non-2xx" "$2"; then echo "bench/peers.sh: larder answered errors" >&2; cat "$2" >&2; exit 1; fi
    printf '  %-46s %9s /s  p50 %7.2f ms  p99 %7.2f ms\n' "$1" "$rps" "$p50" "$p99"
    echo "$rps" >"$2.rps"
}

echo "peers: search, $nq distinct queries from larder-bench, closed loop, 16 connections, ${dur} s each"
off=$(bench_start search-off LARDER_SEARCH_CACHE=0)
wrk -t1 -c16 -d"${dur}s" --latency -s "$tmp/search.lua" "$off" >"$tmp/wrk.off"
kill "$(cat "$tmp/search-off.pid")"
on=$(bench_start search-on)
wrk -t1 -c16 -d"${dur}s" --latency -s "$tmp/search.lua" "$on" >"$tmp/wrk.on"
kill "$(cat "$tmp/search-on.pid")"
wrk_line "larder /v1/search, cache off (wrk)" "$tmp/wrk.off"
wrk_line "larder /v1/search, cache on (wrk)" "$tmp/wrk.on"

echo "peers: relevance, the TOP judgments of the relevance suite (tests/unit/index/search.c) on its catalog"
"$bin" serve --catalog "$tmp/rel.jsonl" --data-dir "$tmp/rel-data" --listen 127.0.0.1:0 \
    >"$tmp/rel.out" 2>"$tmp/rel.err" &
echo $! >"$tmp/rel.pid"
rel=""
for _ in $(seq 1 100); do
    rel=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$tmp/rel.out" | head -n 1)
    [ -n "$rel" ] && curl -sf "$rel/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
judge "larder /v1/search" larder_top
kill "$(cat "$tmp/rel.pid")"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ] || ! command -v pgbench >/dev/null ||
    [ ! -f "$(ls -d /usr/share/postgresql/*/extension 2>/dev/null | tail -n 1)/unaccent.control" ]; then
    echo "  PostgreSQL (server, contrib, pgbench) is not installed: search peer skipped"
else
    pgdir="$tmp/pg"
    mkdir -p "$pgdir"
    as=""
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$pgdir"; chmod 755 "$tmp"; as="runuser -u postgres --"; fi
    pgport=$(free_port)
    $as "$pgbin/initdb" -D "$pgdir/data" -A trust -U bench >/dev/null
    $as "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
        -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_connections=50" \
        start >/dev/null
    pg_stop="$as $pgbin/pg_ctl -D $pgdir/data -m immediate stop"
    psql=(psql -X -q -h 127.0.0.1 -p "$pgport" -U bench -d postgres -v ON_ERROR_STOP=1)
    "${psql[@]}" <<SQL
CREATE EXTENSION unaccent;
CREATE TABLE raw (line text);
\copy raw FROM '$bench_data/catalog.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
CREATE TABLE products AS
    SELECT j->>'sku' AS sku, j->'name'->>'en' AS name_en, j->'name'->>'vi' AS name_vi,
           j->>'category' AS category, j->>'brand' AS brand, (j->>'price')::int AS price
    FROM (SELECT line::jsonb AS j FROM raw) s;
ALTER TABLE products ADD COLUMN tsv tsvector;
UPDATE products SET tsv =
    setweight(to_tsvector('simple', unaccent(coalesce(name_en, '') || ' ' || coalesce(name_vi, ''))), 'A') ||
    setweight(to_tsvector('simple', unaccent(coalesce(brand, '') || ' ' || replace(category, '/', ' '))), 'B');
CREATE INDEX products_tsv ON products USING gin (tsv);
CREATE TABLE q_in (q text);
\copy q_in FROM '$tmp/queries.txt'
CREATE TABLE queries AS
    SELECT row_number() OVER () AS id, q,
           (SELECT string_agg(w, ' & ') || ':*'
              FROM regexp_split_to_table(trim(regexp_replace(lower(unaccent(q)), '[^[:alnum:]]+', ' ', 'g')), ' ') w
             WHERE w <> '') AS tsq
    FROM q_in;
DELETE FROM queries WHERE tsq IS NULL;
CREATE TABLE queries2 AS SELECT row_number() OVER () AS id, q, tsq FROM queries;
ALTER TABLE queries2 ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SQL
    n2=$("${psql[@]}" -At -c "SELECT count(*) FROM queries2")
    cat >"$tmp/search.sql" <<SQL
\set id random(1, $n2)
SELECT p.sku, p.name_en, p.name_vi, p.price, ts_rank(p.tsv, t.q) AS rank
  FROM products p, (SELECT to_tsquery('simple', tsq) AS q FROM queries2 WHERE id = :id) t
 WHERE p.tsv @@ t.q ORDER BY rank DESC LIMIT 20;
SQL
    (cd "$tmp" && pgbench -n -h 127.0.0.1 -p "$pgport" -U bench -c 16 -j 1 -T "$dur" \
        -f "$tmp/search.sql" --log --log-prefix=pglog postgres >"$tmp/pgbench.out" 2>&1) ||
        { cat "$tmp/pgbench.out" >&2; exit 1; }
    pg_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$tmp/pgbench.out" | head -n 1)
    cat "$tmp"/pglog* | awk '{print $3 / 1000}' >"$tmp/pglat"
    printf '  %-46s %9.0f /s  p50 %7.2f ms  p99 %7.2f ms\n' "PostgreSQL tsvector + GIN + unaccent (pgbench)" \
        "$pg_tps" "$(pct 0.5 <"$tmp/pglat")" "$(pct 0.99 <"$tmp/pglat")"
    awk -v a="$(cat "$tmp/wrk.off.rps")" -v b="$(cat "$tmp/wrk.on.rps")" -v c="$pg_tps" \
        'BEGIN {printf "  throughput ratios: larder cache off / PostgreSQL %.1f, cache on / PostgreSQL %.1f\n", a / c, b / c}'
    "${psql[@]}" <<SQL
CREATE TABLE rel_raw (line text);
\copy rel_raw FROM '$tmp/rel.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
CREATE TABLE rel AS
    SELECT j->>'sku' AS sku,
           setweight(to_tsvector('simple', unaccent(coalesce(j->'name'->>'en', '') || ' ' || coalesce(j->'name'->>'vi', ''))), 'A') ||
           setweight(to_tsvector('simple', unaccent(coalesce(j->>'brand', '') || ' ' || replace(j->>'category', '/', ' '))), 'B') AS tsv
    FROM (SELECT line::jsonb AS j FROM rel_raw) s;
SQL
    pg_top() { # the SKUs of PostgreSQL's top N for QUERY, the same query as the throughput run
        "${psql[@]}" -At -v q="$1" -v n="$2" <<'SQL'
SELECT sku FROM rel,
  (SELECT to_tsquery('simple', coalesce((SELECT string_agg(w, ' & ') || ':*'
      FROM regexp_split_to_table(trim(regexp_replace(lower(unaccent(:'q')), '[^[:alnum:]]+', ' ', 'g')), ' ') w
     WHERE w <> ''), '')) AS q) t
 WHERE tsv @@ t.q ORDER BY ts_rank(tsv, t.q) DESC, sku LIMIT :n;
SQL
    }
    judge "PostgreSQL tsvector + unaccent" pg_top
    eval "$pg_stop" >/dev/null 2>&1 || true
    pg_stop=""
fi

echo "peers: durable reservations, closed loop, 50 connections, ${dur} s each"
addr=$(bench_start stock)
token=$("$bin" token --role service --sub bench-peers)
sku=$(awk -F'"' 'NR == 1 {print $4; exit}' "$bench_data/catalog.jsonl")
curl -sf -X POST -H "Authorization: Bearer $token" "$addr/v1/stock/$sku/receive" \
    -d '{"store":"default","lot":"bench-peers","quantity":100000000}' >/dev/null
bench_adjust_lua "$tmp/reserve.lua" "$sku" "$token" -1
wrk -t1 -c50 -d"${dur}s" --latency -s "$tmp/reserve.lua" "$addr" >"$tmp/wrk.stock"
wrk_line "larder adjust -1, durable (wrk)" "$tmp/wrk.stock"
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "  redis-server is not installed: stock peer skipped"
    exit 0
fi
bench_redis
rport=$redis_port
lua='local a = tonumber(redis.call("HGET", KEYS[1], "available") or "100000000") if a < 1 then return 0 end redis.call("HSET", KEYS[1], "available", a - 1) redis.call("HINCRBY", KEYS[1], "reserved", 1) return 1'
redis-benchmark -p "$rport" -c 50 -n $((dur * 40000)) -r 50000 -q \
    EVAL "$lua" 1 "stock:__rand_int__" >"$tmp/redis.out" 2>&1
r_rps=$(tr '\r' '\n' <"$tmp/redis.out" | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)
r_p50=$(tr '\r' '\n' <"$tmp/redis.out" | sed -n 's/.*p50=\([0-9.]*\) msec.*/\1/p' | tail -n 1)
printf '  %-46s %9.0f /s  p50 %7.2f ms\n' "redis Lua reservation, appendfsync always" "$r_rps" "${r_p50:-0}"
awk -v a="$(cat "$tmp/wrk.stock.rps")" -v c="$r_rps" 'BEGIN {printf "  throughput ratio: larder / redis %.2f\n", a / c}'
