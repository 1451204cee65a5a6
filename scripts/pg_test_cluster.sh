#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, listening on 127.0.0.1 only.
#
#   scripts/pg_test_cluster.sh start DIR   initdb a cluster under DIR, start it on a free port, print its URL
#   scripts/pg_test_cluster.sh url DIR     print the URL of the cluster running under DIR
#   scripts/pg_test_cluster.sh stop DIR    stop it and delete DIR
#
# Finds PostgreSQL's binaries (PG_BINDIR, pg_config, /usr/lib/postgresql/*/bin, PATH); when there are none and
# we are root with apt-get it installs Debian's `postgresql` package. postgres refuses to run as root, so as
# root the cluster runs as the `postgres` user (created by the Debian package) in a directory it owns.
# Progress and errors go to stderr; stdout carries only the URL, so `url=$(... start DIR)` works.
set -euo pipefail

DB_NAME=recolm_test
DB_USER=recolm

die() { echo "pg_test_cluster: $*" >&2; exit 1; }

find_bindir() {
    if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then echo "$PG_BINDIR"; return 0; fi
    if command -v pg_config >/dev/null 2>&1; then
        local d; d=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    done
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "no PostgreSQL binaries found (initdb) and not root with apt-get to install them: sudo apt-get install postgresql"
    fi
    echo "pg_test_cluster: installing Debian's postgresql package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
    # The package starts (and enables) its own main cluster; the tests never use it.
}

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Run a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user to own the cluster"
        if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"
        else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
    else
        "$@"
    fi
}

url_of() { echo "postgresql+psycopg://$DB_USER@127.0.0.1:$(cat "$1/port")/$DB_NAME"; }

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|url|stop DIR"

case "$cmd" in
start)
    bindir=$(find_bindir) || { install_postgres; bindir=$(find_bindir) || die "postgresql installed but initdb not found"; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # The cluster lives in its own temp dir: as root it must be owned by postgres and reachable through every
    # parent (pytest's and mktemp's dirs are mode 700), so it cannot simply sit under DIR.
    pgdir=$(mktemp -d "${TMPDIR:-/tmp}/recolm-pg.XXXXXX")
    echo "$pgdir" >"$dir/cluster"
    if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir" && chmod 755 "$pgdir" || die "cannot chown $pgdir to postgres"; fi
    as_owner "$bindir/initdb" -D "$pgdir/data" -U "$DB_USER" -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || die "initdb failed: $(tail -n 5 "$dir/initdb.log")"
    for _ in 1 2 3; do
        port=$(free_port)
        # fsync off: a test cluster is thrown away, durability buys nothing and costs seconds.
        if as_owner "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null 2>&1; then
            echo "$port" >"$dir/port"; echo "$bindir" >"$dir/bindir"
            break
        fi
    done
    [ -f "$dir/port" ] || die "the server did not start: $(tail -n 5 "$pgdir/server.log" 2>/dev/null)"
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME" >&2 || die "createdb $DB_NAME failed"
    url_of "$dir"
    ;;
url)
    [ -f "$dir/port" ] || die "no cluster running under $dir"
    url_of "$dir"
    ;;
stop)
    if [ -f "$dir/cluster" ]; then
        pgdir=$(cat "$dir/cluster")
        if [ -f "$dir/bindir" ] && [ -d "$pgdir/data" ]; then
            as_owner "$(cat "$dir/bindir")/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
        case "$pgdir" in */recolm-pg.*) rm -rf "$pgdir" ;; esac
    fi
    rm -rf "$dir"
    ;;
*)
    die "usage: $0 start|url|stop DIR"
    ;;
esac
