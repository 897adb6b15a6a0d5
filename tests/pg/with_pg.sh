#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server on loopback, then stops it and removes it.
#
#   tests/pg/with_pg.sh CMD ARGS...
#
# The server gets a fresh data directory and a socket directory under a temp dir, a free TCP port
# on 127.0.0.1 and trust authentication (loopback only; nothing else listens); fsync is off (the
# tests never crash it).  CMD runs with LARDER_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:
# PORT/postgres and LARDER_TEST_PG_CTL="pg_ctl command prefix" (tests stop and restart it).
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user.
# When the server cannot start, CMD still runs, with LARDER_TEST_PG_ERROR saying why: the tests
# that need PostgreSQL fail with that message.  Exit status: CMD's.
set -uo pipefail

pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && pg_bin="$d"
done
tmp=$(mktemp -d /tmp/larder-pg.XXXXXX)
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$tmp" 2>/dev/null
  as_pg=(runuser -u postgres --)
fi
log="$tmp/server.log"
started=0
error=""

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ -z "$pg_bin" ]; then
  error="no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (make deps installs postgresql)"
elif ! "${as_pg[@]}" "$pg_bin/initdb" -D "$tmp/data" -U postgres --auth=trust --no-sync \
       -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1; then
  error="initdb failed: $(tail -n 3 "$tmp/initdb.log" | tr '\n' ' ')"
else
  opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=60"
  if "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -o "$opts" -l "$log" -w -t 30 start >/dev/null 2>&1; then
    started=1
  else
    error="pg_ctl start failed: $(tail -n 3 "$log" 2>/dev/null | tr '\n' ' ')"
  fi
fi

cleanup() {
  if [ "$started" = 1 ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -m immediate -w -t 30 stop >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ "$started" = 1 ]; then
  export LARDER_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  export LARDER_TEST_PG_CTL="${as_pg[*]} $pg_bin/pg_ctl -D $tmp/data -o '$opts' -l $log -w -t 30"
  echo "with_pg: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($tmp)" >&2
else
  export LARDER_TEST_PG_ERROR="$error"
  echo "with_pg: PostgreSQL did not start: $error" >&2
fi
"$@"
