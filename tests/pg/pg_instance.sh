#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback, for the tests (tests/pg/with_pg.sh runs the suite's
# shared one through it; tests/integration/pg.c starts private ones to stop and restart).
#
#   tests/pg/pg_instance.sh start DIR   initdb into DIR/data (once), start on a free port of
#                                       127.0.0.1 (the same port again on a restart), socket in
#                                       DIR; prints postgresql://postgres@127.0.0.1:PORT/postgres
#   tests/pg/pg_instance.sh stop DIR    stop it (fast: connections are cut, as in an outage)
#
# DIR is created when missing and must be absolute.  Trust authentication (loopback only), fsync
# off (nothing here survives a crash on purpose).  PostgreSQL refuses to run as root: as root,
# initdb and pg_ctl run as the `postgres` user.  Exit status 1 with the reason on stderr.
set -uo pipefail
cmd=${1:-}
dir=${2:-}
case "$cmd" in start | stop) ;; *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;; esac
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

pg_bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && pg_bin="$d"
done
[ -n "$pg_bin" ] || { echo "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (make deps installs postgresql)" >&2; exit 1; }
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)

if [ "$cmd" = stop ]; then
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1
  exit 0
fi

mkdir -p "$dir" && chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  if ! "${as_pg[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
       -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    echo "initdb failed: $(tail -n 3 "$dir/initdb.log" | tr '\n' ' ')" >&2
    exit 1
  fi
fi
if [ ! -f "$dir/port" ]; then
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$dir/port"
fi
port=$(cat "$dir/port")
opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=60"
if ! "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w -t 30 start >/dev/null 2>&1; then
  echo "pg_ctl start failed: $(tail -n 3 "$dir/server.log" 2>/dev/null | tr '\n' ' ')" >&2
  exit 1
fi
echo "postgresql://postgres@127.0.0.1:$port/postgres"
