#!/usr/bin/env bash
# Restore a deploy/backup.sh dump into a NEW, EMPTY Postgres database.
#
#   createdb -h db -U postgres ums_restored
#   deploy/restore.sh /var/backups/ums/ums-20260101T023000Z.dump \
#     'postgres://ums@db:5432/ums_restored?sslmode=require'
#
# It refuses a database that already has tables, so it can never mix a
# backup into live data. The restore is one transaction: it lands whole or
# not at all. Then start ums on the new database with the SAME
# KEY_ENCRYPTION_KEY as the backed-up deployment (the signing keys, TOTP
# secrets and queued mail are sealed with it), run `ums migrate status`, and
# switch DATABASE_URL over (docs/operations.md).
set -euo pipefail

if (($# != 2)); then
  echo "usage: restore.sh DUMP_FILE TARGET_DATABASE_URL" >&2
  exit 2
fi
dump="$1"
target="$2"

case "$target" in
  postgres://* | postgresql://*) ;;
  *) echo "restore.sh: target must be a postgres:// URL" >&2; exit 2 ;;
esac
if [[ ! -r "$dump" ]]; then
  echo "restore.sh: cannot read $dump" >&2
  exit 2
fi
pg_restore --list "$dump" >/dev/null

tables="$(psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$target" \
  --command="SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
if [[ "$tables" != "0" ]]; then
  echo "restore.sh: the target database already has $tables table(s); restore into a new, empty database" >&2
  exit 1
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$target" "$dump"

users="$(psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$target" --command="SELECT count(*) FROM users")"
echo "restore.sh: restored $dump ($users users)"
