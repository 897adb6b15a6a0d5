#!/usr/bin/env bash
# bench/pg_import.sh — the catalog from PostgreSQL: the 50,000-SKU catalog loaded into a
# throw-away PostgreSQL (tests/pg/with_pg.sh: loopback, fsync off) with `larder db load`, then
# `larder import --from-postgres` into a fresh data dir N times (the first makes the data dir's
# base catalog; the later ones compare every product and change nothing): each run's wall time as
# the command reports it (COPY out, JSON validation, the catalog load and the log), median of
# the later runs.  A sanity run: the machine is shared, so the figures are noisy.
# usage: bench/pg_import.sh [N]   (default 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
bin=${LARDER_BIN:-build/larder}
if [ -z "${LARDER_TEST_DATABASE_URL:-}" ]; then
    exec tests/pg/with_pg.sh "$0" "$@"
fi
tmp=$(mktemp -d)
. bench/lib.bash
trap bench_cleanup EXIT
bench_catalog
export LARDER_DATABASE_URL=$LARDER_TEST_DATABASE_URL
"$bin" db migrate >/dev/null
"$bin" db load "$bench_data/catalog.jsonl"
for i in $(seq 1 "$n"); do
    "$bin" import --from-postgres --data-dir "$tmp/data" 2>/dev/null | tee -a "$tmp/runs"
done
first=$(head -n 1 "$tmp/runs" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')
later=$(tail -n +2 "$tmp/runs" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' | bench_median)
echo "pg_import: 50000 SKUs from PostgreSQL: first import (base catalog) ${first} ms, later imports (nothing changed) median ${later:-n/a} ms"
