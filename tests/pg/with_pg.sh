#!/usr/bin/env bash
# Runs a command next to a throw-away PostgreSQL server on loopback (tests/pg/pg_instance.sh),
# then stops it and removes it.
#
#   tests/pg/with_pg.sh CMD ARGS...
#
# CMD runs with LARDER_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:PORT/postgres.  When the
# server cannot start, CMD still runs, with LARDER_TEST_PG_ERROR saying why: the tests that need
# PostgreSQL fail with that message.  Exit status: CMD's.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/larder-pg.XXXXXX)
started=0
cleanup() {
  [ "$started" = 1 ] && "$here/pg_instance.sh" stop "$tmp"
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if url=$("$here/pg_instance.sh" start "$tmp" 2>"$tmp.err"); then
  started=1
  export LARDER_TEST_DATABASE_URL="$url"
  echo "with_pg: PostgreSQL on ${url#*@} ($tmp)" >&2
else
  export LARDER_TEST_PG_ERROR="$(cat "$tmp.err")"
  echo "with_pg: PostgreSQL did not start: $LARDER_TEST_PG_ERROR" >&2
fi
rm -f "$tmp.err"
"$@"
