#!/usr/bin/env bash
# Makes a fresh machine ready for `make test`: installs PostgreSQL, Redis and Chromium from
# the distribution's packages when missing, and starts PostgreSQL and Redis when they are
# not answering on 127.0.0.1. Safe to run again: it only acts on what is missing.
set -euo pipefail

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "need root to install $*" >&2; return 1; fi
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing postgresql"; apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# The suite connects as postgres over TCP without a password (trust), as on these machines.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  echo "allowing trust auth for postgres on 127.0.0.1"
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi

# The two roles of production (README, Production), which the suite uses the same way
# (ccm/test_database/base.py creates them too when missing): the owner creates and migrates
# the test databases; the application role, which the whole suite connects as, owns
# nothing. Passwords, so they sign in under trust or scram alike.
ensure_role() {  # name password attributes
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc "SELECT 1 FROM pg_roles WHERE rolname = '$1'")" != 1 ]; then
    echo "creating database role $1"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE ROLE $1 LOGIN $3 PASSWORD '$2'" \
      || [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc "SELECT 1 FROM pg_roles WHERE rolname = '$1'")" = 1 ]
  fi
}
ensure_role "${TEST_DATABASE_OWNER:-ccm_owner}" "${TEST_DATABASE_OWNER_PASSWORD:-ccm-owner-test}" \
  "NOSUPERUSER CREATEDB NOCREATEROLE"
ensure_role "${TEST_DATABASE_APP_USER:-ccm_app}" "${TEST_DATABASE_APP_PASSWORD:-ccm-app-test}" \
  "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"

# Redis
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis"; apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# Pango for WeasyPrint, which renders the audit packets' PDFs (billing/claims/packet.py).
if ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0'; then
  echo "installing pango for weasyprint"; apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
fi

# Chromium for the browser tests (Playwright drives it through executable_path).
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium"; apt_install chromium
fi
echo "services ready: postgresql, redis, chromium"
