#!/usr/bin/env bash
# Make a PostgreSQL server answer on 127.0.0.1:5432 with the test role `refund`/`refund`
# and the database `refund_test`. Installs Debian's `postgresql` package when no server exists.
set -euo pipefail
PGHOST=127.0.0.1
if ! pg_isready -q -h "$PGHOST" -p 5432 2>/dev/null; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "ensure-postgres: installing Debian postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
    pg_createcluster "$ver" main >/dev/null
  fi
  pg_ctlcluster "$ver" main start || true
  for _ in $(seq 1 60); do
    pg_isready -q -h "$PGHOST" -p 5432 && break
    sleep 0.5
  done
  pg_isready -h "$PGHOST" -p 5432
fi
run_psql() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -qtAX -v ON_ERROR_STOP=1 -c \"$1\""; else psql -h "$PGHOST" -U postgres -qtAX -c "$1"; fi; }
if [ "$(run_psql "select 1 from pg_roles where rolname='refund'")" != "1" ]; then
  run_psql "create role refund login superuser password 'refund'"
fi
if [ "$(run_psql "select 1 from pg_database where datname='refund_test'")" != "1" ]; then
  run_psql "create database refund_test owner refund"
fi
echo "ensure-postgres: postgres://refund:refund@127.0.0.1:5432/refund_test ready" >&2
