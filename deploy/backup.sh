#!/usr/bin/env bash
# Back up the UMS Postgres database with pg_dump (custom format), then
# delete backups older than the retention.
#
#   DATABASE_URL=postgres://ums@db:5432/ums?sslmode=require \
#   BACKUP_DIR=/var/backups/ums BACKUP_RETENTION_DAYS=14 deploy/backup.sh
#
# Writes $BACKUP_DIR/ums-<UTC timestamp>.dump (mode 0600: it holds password
# hashes and the sealed signing keys) and prints its path. Keep a password
# out of DATABASE_URL (it would show in `ps`): use ~/.pgpass or PGPASSFILE.
# A backup is only useful together with KEY_ENCRYPTION_KEY, which must be
# kept safe separately. Restore with deploy/restore.sh.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must name the Postgres database to back up}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/ums}"
BACKUP_RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-14}"

case "$DATABASE_URL" in
  postgres://* | postgresql://*) ;;
  *) echo "backup.sh: DATABASE_URL is not postgres:// (for SQLite use: ums backup --to FILE)" >&2; exit 2 ;;
esac
if ! [[ "$BACKUP_RETENTION_DAYS" =~ ^[0-9]+$ ]] || ((BACKUP_RETENTION_DAYS < 1)); then
  echo "backup.sh: BACKUP_RETENTION_DAYS must be a whole number of days, at least 1" >&2
  exit 2
fi

umask 077
mkdir -p "$BACKUP_DIR"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$BACKUP_DIR/ums-$stamp.dump"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

# Custom format: compressed, and pg_restore can pick objects or run in
# parallel. The dump is one consistent snapshot; writers keep running.
pg_dump --format=custom --compress=6 \
  --file="$partial" --dbname="$DATABASE_URL"
# An unreadable archive is no backup: list its contents before keeping it.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$target"
trap - EXIT

# Retention: only our own files, only after a successful dump, never the
# one just written (-mtime +N means older than N whole days).
find "$BACKUP_DIR" -maxdepth 1 -type f -name 'ums-*.dump' -mtime +"$BACKUP_RETENTION_DAYS" -print -delete |
  sed 's/^/backup.sh: removed expired /' >&2

echo "$target"
