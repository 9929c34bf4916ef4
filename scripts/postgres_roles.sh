#!/usr/bin/env bash
# The two PostgreSQL roles of production (README, Production), for a database that exists:
# ccm_owner owns the database and everything migrations create (`make migrate` connects as
# it: DATABASE_OWNER_URL); ccm_app is what the application connects as (DATABASE_URL) and
# owns nothing: it cannot truncate the audit log, alter a table or switch a trigger off.
# Migration ccm 0007 grants ccm_app what it needs. Run as a superuser; docker-compose.yml's
# PostgreSQL runs it at its first start (docker-entrypoint-initdb.d). Safe to run again:
# an existing role keeps its password.
#   POSTGRES_USER, POSTGRES_DB: who runs it, on which database (the image's names)
#   CCM_OWNER_DB_PASSWORD, CCM_APP_DB_PASSWORD: the roles' passwords
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-ccm}" \
  -v owner_password="${CCM_OWNER_DB_PASSWORD:?set CCM_OWNER_DB_PASSWORD}" \
  -v app_password="${CCM_APP_DB_PASSWORD:?set CCM_APP_DB_PASSWORD}" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ccm_owner') AS create_owner,
       NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ccm_app') AS create_app \gset
\if :create_owner
CREATE ROLE ccm_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
\endif
\if :create_app
CREATE ROLE ccm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'app_password';
\endif
SELECT current_database() AS database \gset
ALTER DATABASE :"database" OWNER TO ccm_owner;
ALTER SCHEMA public OWNER TO ccm_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
