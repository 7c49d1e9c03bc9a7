#!/usr/bin/env bash
# Install what the test suite needs that a fresh machine lacks, from Debian's packages:
# redis-server, and chromium for the browser tests (tests/browser drive /usr/bin/chromium with
# Playwright; no browser is ever downloaded from elsewhere). PostgreSQL 15 is installed on this
# kind of machine (binaries in /usr/lib/postgresql/15/bin); the tests start their own throwaway
# servers on loopback.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
    exit 1
  fi
fi
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${PG_BIN:-}" ]; then
  echo "PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin (set PG_BIN)" >&2
  exit 1
fi
