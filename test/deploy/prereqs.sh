#!/usr/bin/env bash
# Make sure what `make test-deploy` runs is installed: nginx, openssl, the
# Postgres client tools, shellcheck and Debian's Python packages for the
# Django example (its "Sign in with UMS" uses Authlib's OpenID Connect client)
# and the old API's client (legacy_client.py: requests).
# As root with apt-get, missing ones are installed from Debian packages;
# otherwise this lists them and fails.
set -euo pipefail

need=()
command -v nginx >/dev/null || need+=(nginx)
command -v openssl >/dev/null || need+=(openssl)
command -v pg_dump >/dev/null || need+=(postgresql-client)
command -v shellcheck >/dev/null || need+=(shellcheck)
# Debian's packages belong to /usr/bin/python3, whatever python3 PATH finds first.
/usr/bin/python3 -c 'import django, jwt, requests, cryptography, authlib' 2>/dev/null ||
  need+=(python3 python3-django python3-jwt python3-requests python3-cryptography python3-authlib)
((${#need[@]})) || exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "test-deploy needs: ${need[*]} (install them, e.g. apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "[test-deploy] installing ${need[*]}"
apt-get update -qq
# RUNLEVEL=1: the nginx package must not start a system nginx on :80.
RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
