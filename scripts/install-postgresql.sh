#!/usr/bin/env bash
# Debian's PostgreSQL server for the production-path tests (tests/servers.py: a throwaway cluster per test
# session, initdb + pg_ctl), when missing.
#
# Needs root and apt-get (CI runs it from .ci/run). Elsewhere it only says so: those tests then skip locally,
# with the reason.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
  echo "install-postgresql: PostgreSQL server binaries already installed"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-postgresql: PostgreSQL is missing and this is not root with apt-get; the server tests will skip" >&2
  exit 0
fi
echo "install-postgresql: apt-get install postgresql"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb
