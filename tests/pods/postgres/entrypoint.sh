#!/bin/bash
# Creates the cluster on first start from POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB,
# as the postgres image does, then runs the server in the foreground (it is pid 1).
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${POSTGRES_PASSWORD:?}"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
socket=/var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --no-locale >/dev/null
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k $socket" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -h "$socket" -U "$POSTGRES_USER" -d postgres -qc "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
[ "${1:-postgres}" = postgres ] && shift || true
exec postgres -c listen_addresses='*' -k "$socket" "$@"
