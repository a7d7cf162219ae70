#!/usr/bin/env bash
# Starts the project's PostgreSQL server on 127.0.0.1 and makes sure the test
# role and database exist. Prints the URL the tests use, and nothing else, on
# stdout (the Makefile captures it): what the server tools say, such as
# "Removed stale pid file.", goes to stderr. Idempotent.
set -euo pipefail
PORT="${WORKBENCH_PG_PORT:-5432}"
USER_NAME=workbench
PASSWORD=workbench
DB=workbench_test
cluster=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="$PORT" '$3 == p {print $1" "$2; exit}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" workbench --port "$PORT" >&2
  cluster="$version workbench"
fi
set -- $cluster
status=$(pg_lsclusters --no-header | awk -v v="$1" -v c="$2" '$1 == v && $2 == c {print $4}')
if [ "$status" != "online" ]; then
  pg_ctlcluster "$1" "$2" start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.5
done
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sh -c "$1"; fi >&2; }
as_postgres "psql -q -p $PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$USER_NAME'\" | grep -q 1 || psql -q -p $PORT -c \"CREATE ROLE $USER_NAME LOGIN SUPERUSER PASSWORD '$PASSWORD'\""
as_postgres "psql -q -p $PORT -tAc \"SELECT 1 FROM pg_database WHERE datname='$DB'\" | grep -q 1 || createdb -p $PORT -O $USER_NAME $DB"
echo "postgresql://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB"
