#!/usr/bin/env bash
# Install what the test suite needs that a fresh machine lacks: redis-server from Debian's packages.
# PostgreSQL 15 is installed on this kind of machine (binaries in /usr/lib/postgresql/15/bin); the
# tests start their own throwaway servers on loopback.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing: run 'sudo apt-get install redis-server'" >&2
    exit 1
  fi
fi
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${PG_BIN:-}" ]; then
  echo "PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin (set PG_BIN)" >&2
  exit 1
fi
